"""The album jobs through a REAL Celery worker process (embedded stack: SQLite, filesystem broker):
a tiny model is trained, then titles, a cover, a curated album export and the no-curation album
in modes generate (fresh clips from the last checkpoint) and epochs."""

from __future__ import annotations

import io
import json
import zipfile

import soundfile as sf

from tests.albums.factories import image_bytes
from tests.model.test_titles import DISCOGRAPHY
from tests.worker.conftest import Stack
from tests.worker.harness import (
    API,
    clips_of,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)

TERMINAL = ("succeeded", "failed", "cancelled")


def _wait_job(stack: Stack, job_id: int, timeout: float = 120) -> dict:
    done = wait_for(
        lambda: (j := get(stack.client, f"/jobs/{job_id}"))["status"] in TERMINAL and j,
        timeout, interval=0.2, what=f"job {job_id}",
    )
    assert done["status"] == "succeeded", (done["error"], stack.worker.log()[-3000:])
    return dict(done)


def _post(stack: Stack, path: str, body: dict) -> dict:
    r = stack.client.post(f"{API}{path}", json=body)
    assert r.status_code == 202, r.text
    return dict(r.json())


def _zip(stack: Stack, url: str) -> zipfile.ZipFile:
    r = stack.client.get(url)
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_album_jobs_run_on_a_real_worker(embedded: Stack) -> None:
    c = embedded.client
    pid = new_project(c, "Albums on a worker")
    assert c.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY).status_code == 200
    r = c.post(f"{API}/projects/{pid}/images", data={"role": "cover"},
               files={"file": ("cover.png", image_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    run = start_run(c, pid, tiny_run(2, segments=8, clips=2, seconds=0.5))
    final = wait_run(c, run["id"], TERMINAL, 180)
    assert final["status"] == "succeeded", final["error"]

    titles = _wait_job(embedded, _post(embedded, f"/projects/{pid}/titles/generate",
                                       {"n": 20, "seed": 3})["id"])
    assert titles["result"]["count"] == 20
    cover = _wait_job(embedded, _post(embedded, f"/projects/{pid}/covers/generate",
                                      {"backend": "mosaic", "seed": 1})["id"])
    cover_id = cover["result"]["cover_ids"][0]

    clips = clips_of(c, pid, run["id"])
    names = get(c, f"/projects/{pid}/titles/generated?limit=2")["data"]
    tracks = []
    for clip, title in zip(clips[:2], names, strict=True):
        r = c.post(f"{API}/projects/{pid}/tracks", json={
            "name": title["text"],
            "edl": [{"clip_id": clip["id"], "start_s": 0, "end_s": clip["duration_s"]}],
        })
        assert r.status_code == 201, r.text
        tracks.append({"track_id": r.json()["id"], "title": title["text"], "gap_ms": 500})
    album = c.post(f"{API}/projects/{pid}/albums", json={
        "title": "On a Worker", "artist": "Dadabots", "cover_id": cover_id, "tracks": tracks,
    }).json()
    export = _post(embedded, f"/albums/{album['id']}/exports", {"formats": ["flac", "wav"]})
    _wait_job(embedded, export["job_id"])
    export = get(c, f"/exports/{export['id']}")
    assert export["status"] == "succeeded"
    zf = _zip(embedded, export["download_url"])
    flacs = sorted(n for n in zf.namelist() if n.endswith(".flac"))
    assert len(flacs) == 2
    for name in flacs:
        info = sf.info(io.BytesIO(zf.read(name)))
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_24")

    generated = _wait_job(embedded, _post(embedded, f"/projects/{pid}/albums/auto", {
        "mode": "generate", "tracks": 2, "seconds": 1.0, "seed": 7,
    })["id"], timeout=180)
    result = generated["result"]
    fresh = [x for x in clips_of(c, pid, run["id"]) if x["id"] not in {y["id"] for y in clips}]
    assert len(fresh) == 2 and {x["epoch"] for x in fresh} == {2}
    assert all(x["duration_s"] == 1.0 for x in fresh)
    # Analysed before the album took them; one with a hard flag is left out (unless all are).
    assert all(x["analysis_version"] for x in fresh)
    used = set(result["clip_ids"])
    assert used and used <= {x["id"] for x in fresh}
    hard = {"silent", "noise", "exploded", "copied"}
    assert all(hard & {f["name"] for f in x["flags"]} for x in fresh if x["id"] not in used)
    zf = _zip(embedded, result["download_url"])
    manifest = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json"))))
    assert [t["clip_ids"] for t in manifest["tracks"]] == [[i] for i in result["clip_ids"]]
    assert any("30 s" in p for p in manifest["checks"])  # 1 s tracks: reported, still exported

    epochs = _wait_job(embedded, _post(embedded, f"/projects/{pid}/albums/auto", {
        "mode": "epochs", "seed": 7, "include_flagged": True,  # a 2-epoch tiny model's clips
    })["id"])
    pieces = epochs["payload"]["pieces"]
    assert [p["epoch"] for p in pieces] == [1, 2]
    assert get(c, f"/albums/{epochs['result']['album_id']}")["tracks"][0]["title"]
