"""Live clips end to end: a real worker process generates, the web app streams the growing
file over real HTTP, the listener reads it with http.client.

- A clip heard live is byte for byte the clip written with nobody listening (same seed, same
  index: the first is deleted so the second generation gets its index back), and the stream
  is byte for byte the finished file.
- A late listener still gets the whole clip; after the clip is finished the stream redirects to
  the ordinary clip; a cancelled generation ends its listeners' streams.
- "Keep that" saves what was generated so far (the same samples as the finished clip there),
  with its provenance; bad requests are problems naming what was wrong.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.live.conftest import (
    Listener,
    Trained,
    api,
    checkpoint_id,
    generate,
    wait_job,
    wait_live,
)
from tests.worker.harness import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
CLIP_S = 20.0


def clip_of(base: str, job_id: int) -> dict[str, Any]:
    r = api(base, "GET", f"/jobs/{job_id}")
    result = r.json()["result"] or {}
    ids = result.get("clip_ids") or []
    assert len(ids) == 1, r.json()
    return dict(api(base, "GET", f"/clips/{ids[0]}").json())


def audio_bytes(base: str, clip: dict[str, Any]) -> bytes:
    r = api(base, "GET", f"/clips/{clip['id']}/audio")
    assert r.status_code == 200, r.text
    return r.content


def test_a_clip_heard_live_is_the_clip_written_with_nobody_listening(trained: Trained) -> None:
    with trained.server() as web:
        cid = checkpoint_id(web.url, trained.run_id)
        job = generate(web.url, cid, seconds=CLIP_S, seed=4242)
        live = wait_live(web.url, trained.project_id, job)
        assert live["state"] == "live" and live["seconds"] == pytest.approx(CLIP_S)
        listener = Listener(web.port, live["stream_url"].removeprefix("/api/v1"))
        listener.start()
        wait_job(web.url, job)
        listener.join(60)
        assert listener.error is None, listener.error
        assert listener.status == 200
        assert listener.first_audio_at is not None and listener.ended_at is not None
        heard = bytes(listener.data)
        clip = clip_of(web.url, job)
        written = audio_bytes(web.url, clip)
        # The stream is the finished file itself: the same header, every sample.
        assert int(listener.headers["x-live-total-bytes"]) == len(written)
        assert heard == written
        audio, sr = sf.read(io.BytesIO(written), dtype="int16")
        assert len(audio) == int(CLIP_S * sr) and np.abs(audio).max() > 0
        # It was heard while it was being generated, not after: sound came well before the end.
        assert listener.ended_at - listener.first_audio_at > 1.0

        # The same seed and index with nobody listening.
        r = api(web.url, "DELETE", f"/clips/{clip['id']}")
        assert r.status_code in (200, 204), r.text
        again = generate(web.url, cid, seconds=CLIP_S, seed=4242)
        wait_job(web.url, again)
        alone = clip_of(web.url, again)
        assert (alone["index"], alone["seed"]) == (clip["index"], clip["seed"])
        assert audio_bytes(web.url, alone) == written


def test_a_late_listener_gets_the_whole_clip_and_a_finished_one_redirects(
    trained: Trained,
) -> None:
    with trained.server() as web:
        cid = checkpoint_id(web.url, trained.run_id)
        job = generate(web.url, cid, seconds=CLIP_S, seed=77)
        live = wait_live(web.url, trained.project_id, job)
        path = live["url"].removeprefix("/api/v1")

        def halfway() -> bool:
            r = api(web.url, "GET", path)
            return r.json()["state"] == "finished" or r.json()["generated_s"] >= 3.0

        wait_for(halfway, 120, interval=0.05, what="3 s generated")
        peaks = api(web.url, "GET", f"{path}/peaks")
        late = Listener(web.port, f"{path}/stream")
        late.start()
        wait_job(web.url, job)
        late.join(60)
        assert late.error is None, late.error
        clip = clip_of(web.url, job)
        written = audio_bytes(web.url, clip)
        assert bytes(late.data) == written  # from the first sample, though it came late

        # The growing waveform: buckets of the whole clip's scale, what was there then (on a
        # machine fast enough to finish the clip first, the ordinary clip's peaks instead).
        assert peaks.status_code in (200, 303), peaks.text
        if peaks.status_code == 200:
            doc = peaks.json()
            assert doc["total_samples"] == int(CLIP_S * 16000)
            assert 0 < doc["samples"] <= doc["total_samples"]
            assert doc["length"] == -(-doc["samples"] // doc["samples_per_pixel"])

        # Finished: the live clip says which clip it became; its stream is that clip's audio.
        r = api(web.url, "GET", path)
        assert r.json()["state"] == "finished" and r.json()["clip_id"] == clip["id"]
        r = api(web.url, "GET", f"{path}/stream", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith(f"/clips/{clip['id']}/audio")
        listed = api(web.url, "GET", f"/projects/{trained.project_id}/live-clips").json()["data"]
        assert all(c["job_id"] != job for c in listed)


def test_a_cancelled_generation_ends_its_streams(trained: Trained) -> None:
    with trained.server() as web:
        cid = checkpoint_id(web.url, trained.run_id)
        job = generate(web.url, cid, seconds=120.0, seed=5)
        live = wait_live(web.url, trained.project_id, job)
        listener = Listener(web.port, live["stream_url"].removeprefix("/api/v1"))
        listener.start()
        wait_for(lambda: listener.first_audio_at, 60, what="the first audio")
        r = api(web.url, "POST", f"/jobs/{job}/cancel")
        assert r.status_code == 202, r.text
        listener.join(60)
        assert not listener.is_alive(), "the stream of a cancelled clip did not end"
        # Cut short of the length its header announces: a player sees a cut stream.
        announced = 44 + int.from_bytes(listener.data[40:44], "little")  # the data chunk size
        assert announced == int(listener.headers["x-live-total-bytes"]) == 44 + 2 * 120 * 16000
        assert len(listener.data) < announced
        wait_job(web.url, job, "cancelled")
        r = api(web.url, "GET", live["url"].removeprefix("/api/v1"))
        assert r.status_code == 404 and r.headers["content-type"].startswith(
            "application/problem+json")


def test_keep_that_saves_the_last_seconds_generated_so_far(trained: Trained) -> None:
    with trained.server() as web:
        cid = checkpoint_id(web.url, trained.run_id)
        job = generate(web.url, cid, seconds=CLIP_S, seed=909)
        live = wait_live(web.url, trained.project_id, job)
        path = live["url"].removeprefix("/api/v1")
        for body, status, field in [
            ({"seconds": 0}, 422, "seconds"),
            ({"seconds": -2}, 422, "seconds"),
            ({"seconds": 5000}, 422, "seconds"),
            ({"seconds": "lots"}, 422, "seconds"),
            ({"end_s": -1}, 422, "end_s"),
            ({"volume": 11}, 422, "volume"),
        ]:
            r = api(web.url, "POST", f"{path}/keep", json=body)
            assert r.status_code == status, (body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert field in r.text, r.text
        r = api(web.url, "POST", f"/checkpoints/{cid}/live-clips/9999/keep", json={})
        assert r.status_code == 404 and "live clip 9999" in r.json()["detail"], r.text

        wait_for(lambda: api(web.url, "GET", path).json().get("generated_s", 99) >= 3.0, 120,
                 interval=0.05, what="3 s generated")
        at = time.monotonic()
        r = api(web.url, "POST", f"{path}/keep", json={"seconds": 2.0, "end_s": 3.0})
        assert r.status_code == 201, r.text
        kept = r.json()
        assert time.monotonic() - at < 60
        state = api(web.url, "GET", path).json()
        assert state["state"] == "live", "the clip finished before keep that could be tested"
        prov = kept["provenance"]
        assert prov["kind"] == "live" and prov["checkpoint_id"] == cid
        assert prov["seed"] == live["seed"] and prov["live_index"] == live["index"]
        assert prov["offset_s"] == pytest.approx(1.0) and prov["seconds"] == pytest.approx(2.0)
        assert kept["duration_s"] == pytest.approx(2.0) and "live" in kept["tags"]
        assert kept["index"] != live["index"]
        # Keeping the same moment again gives the same clip.
        again = api(web.url, "POST", f"{path}/keep", json={"seconds": 2.0, "end_s": 3.0})
        assert again.status_code == 201 and again.json()["id"] == kept["id"]

        wait_job(web.url, job)
        whole = clip_of(web.url, job)
        full, sr = sf.read(io.BytesIO(audio_bytes(web.url, whole)), dtype="int16")
        part, _ = sf.read(io.BytesIO(audio_bytes(web.url, kept)), dtype="int16")
        assert np.array_equal(part, full[1 * sr : 3 * sr])  # the very samples, not a re-take
        # The live clip is finished now: keep that is for live clips (the editor cuts clips).
        r = api(web.url, "POST", f"{path}/keep", json={})
        assert r.status_code == 409 and str(whole["id"]) in r.json()["detail"], r.text
