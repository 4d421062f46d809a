"""The no-curation album knows which clips are good: mode `best` takes the best analysed clips,
all different, none flagged silent, noise, exploded or copied; the other modes skip clips with
such hard flags unless asked not to."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.model import signals as s
from tests.quality.conftest import (
    API,
    SR,
    Worker,
    add_epochs,
    album_tracks,
    make_project,
    storage_of,
    upload_album,
)


@pytest.fixture
def analysed(client: TestClient, session: Session, worker: Worker) -> dict:
    pid = make_project(client)
    tracks = album_tracks(2, 30.0)
    upload_album(client, pid, tracks)
    loop = s.looped(before=0.0, period=0.5, repeats=24)
    run, ids = add_epochs(session, storage_of(client), pid, [
        [s.silence(5.0), s.white_noise(5.0)],  # epoch 1: nothing worth a listen
        [s.music(5.0, seed=11), s.music(5.0, seed=12), loop[: 5 * SR]],
        [s.music(5.0, seed=13), loop[5 * SR : 10 * SR], tracks[0][3 * SR : 9 * SR]],
    ])
    r = client.post(f"{API}/projects/{pid}/analysis")
    assert r.status_code == 202
    worker.run_all()
    names = ["silent", "noise", "m11", "m12", "loopA", "m13", "loopB", "copy"]
    clip_ids = dict(zip(names, sum(ids, []), strict=True))
    flags = {n: {f["name"] for f in client.get(f"{API}/clips/{i}").json()["flags"]} for n, i in clip_ids.items()}
    assert flags["silent"] == {"silent"} and flags["noise"] == {"noise"} and "copied" in flags["copy"]
    assert flags["loopA"] == flags["loopB"] == {"loop"}
    return {"project": pid, "run": run.id, "clips": clip_ids}


def _auto(client: TestClient, worker: Worker, pid: int, **body: object) -> dict:
    r = client.post(f"{API}/projects/{pid}/albums/auto", json=body)
    assert r.status_code == 202, r.text
    worker.run_all()
    done = client.get(f"{API}/jobs/{r.json()['id']}").json()
    assert done["status"] == "succeeded", done
    return done


def test_best_takes_the_best_clips_all_different_none_hard_flagged(
    client: TestClient, worker: Worker, analysed: dict
) -> None:
    c = analysed["clips"]
    done = _auto(client, worker, analysed["project"], mode="best", tracks=4, seed=3)
    chosen = [p["clip_id"] for p in done["payload"]["pieces"]]
    assert len(chosen) == 4 and {p["epoch"] for p in done["payload"]["pieces"]} <= {2, 3}
    assert not {c["silent"], c["noise"], c["copy"]} & set(chosen)
    assert len({c["loopA"], c["loopB"]} & set(chosen)) == 1  # not two takes of one loop
    qualities = [client.get(f"{API}/clips/{i}").json()["quality"] for i in chosen]
    assert qualities == sorted(qualities, reverse=True)  # best first
    assert set(chosen) >= {c["m11"], c["m12"], c["m13"]}
    # Only four distinct clips are worth it: a fifth track is refused up front.
    r = client.post(f"{API}/projects/{analysed['project']}/albums/auto", json={"mode": "best", "tracks": 5})
    assert r.status_code == 409 and "distinct analysed clips" in r.json()["detail"]


def test_random_clips_skip_hard_flags_unless_asked(client: TestClient, worker: Worker, analysed: dict) -> None:
    c = analysed["clips"]
    hard = {c["silent"], c["noise"], c["copy"]}
    done = _auto(client, worker, analysed["project"], mode="clips", tracks=5, epoch="all", seed=1)
    assert not hard & {p["clip_id"] for p in done["payload"]["pieces"]}
    r = client.post(f"{API}/projects/{analysed['project']}/albums/auto",
                    json={"mode": "clips", "tracks": 6, "epoch": "all"})
    assert r.status_code == 409 and "without a hard flag" in r.json()["detail"]
    everything = _auto(client, worker, analysed["project"], mode="clips", tracks=8, epoch="all",
                       seed=1, include_flagged=True)
    assert hard <= {p["clip_id"] for p in everything["payload"]["pieces"]}
    assert everything["payload"]["include_flagged"] is True


def test_one_excerpt_per_epoch_leaves_out_an_epoch_of_dead_air(
    client: TestClient, worker: Worker, analysed: dict
) -> None:
    done = _auto(client, worker, analysed["project"], mode="epochs", seconds=4, seed=2)
    assert [p["epoch"] for p in done["payload"]["pieces"]] == [2, 3]
    kept = _auto(client, worker, analysed["project"], mode="epochs", seconds=4, seed=2, include_flagged=True)
    assert [p["epoch"] for p in kept["payload"]["pieces"]] == [1, 2, 3]
