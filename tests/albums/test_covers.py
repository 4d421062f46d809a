"""Generated covers: both methods, backends, the gallery, the image, pick, crop, bad inputs."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import SourceImage
from model.covers import available_backends
from tests.albums.conftest import Worker
from tests.albums.factories import API, job, make_project, storage_of, upload_image
from tests.app.factories import png_header_only


def _generate(client: TestClient, worker: Worker, pid: int, **body: object) -> dict:
    r = client.post(f"{API}/projects/{pid}/covers/generate", json=body)
    assert r.status_code == 202, r.text
    worker.run_all()
    return job(client, r.json()["id"])


def _image(client: TestClient, url: str) -> Image.Image:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "JPEG" and image.mode == "RGB"
    return image


@pytest.mark.parametrize("method", ["self", "photos"])
def test_each_method_makes_square_jpegs_of_the_requested_size(
    client: TestClient, worker: Worker, method: str
) -> None:
    pid = make_project(client)
    upload_image(client, pid, "cover", seed=1)
    upload_image(client, pid, "photo", seed=2)
    upload_image(client, pid, "photo", seed=3)
    done = _generate(client, worker, pid, method=method, size=1400, seed=5, backend="mosaic", n=2)
    assert done["status"] == "succeeded", done
    covers = client.get(f"{API}/projects/{pid}/covers").json()["data"]
    assert [c["id"] for c in covers] == done["result"]["cover_ids"]
    assert [c["seed"] for c in covers] == [5, 6]
    assert {c["method"] for c in covers} == {"self-style" if method == "self" else "band-photos"}
    assert {c["backend"] for c in covers} == {"mosaic"}
    for cover in covers:
        assert _image(client, cover["image_url"]).size == (1400, 1400)


def test_every_available_backend_runs_and_auto_takes_the_best(
    client: TestClient, worker: Worker
) -> None:
    pid = make_project(client)
    upload_image(client, pid, "cover", seed=1)
    fast = [b for b in available_backends() if b != "random-cnn"]  # random-cnn: tested in model/
    for backend in fast:
        done = _generate(client, worker, pid, size=1400, seed=1, backend=backend)
        assert done["status"] == "succeeded", done
        cover = client.get(f"{API}/covers/{done['result']['cover_ids'][0]}").json()
        assert cover["backend"] == backend
        assert _image(client, cover["image_url"]).size == (1400, 1400)
    done = _generate(client, worker, pid, size=1400, seed=1, backend="auto", method="self")
    if available_backends()[0] != "random-cnn":
        assert done["result"]["backend"] == available_backends()[0]


def test_the_same_seed_gives_the_same_cover(client: TestClient, worker: Worker) -> None:
    pid = make_project(client)
    upload_image(client, pid, "cover")
    a = _generate(client, worker, pid, seed=9, backend="mosaic")
    b = _generate(client, worker, pid, seed=9, backend="mosaic")
    ca, cb = (client.get(f"{API}/covers/{d['result']['cover_ids'][0]}").json() for d in (a, b))
    # Pixels, not bytes: the embedded sRGB profile carries its creation time.
    assert _image(client, ca["image_url"]).tobytes() == _image(client, cb["image_url"]).tobytes()


def test_pick_is_exclusive_and_crop_recuts_the_original_square(
    client: TestClient, worker: Worker
) -> None:
    pid = make_project(client)
    upload_image(client, pid, "cover")
    ids = _generate(client, worker, pid, seed=1, backend="mosaic", n=2)["result"]["cover_ids"]
    assert client.patch(f"{API}/covers/{ids[0]}", json={"picked": True}).json()["picked"]
    assert client.patch(f"{API}/covers/{ids[1]}", json={"picked": True}).json()["picked"]
    picked = [c["id"] for c in client.get(f"{API}/projects/{pid}/covers").json()["data"] if c["picked"]]
    assert picked == [ids[1]]

    before = client.get(f"{API}/covers/{ids[0]}").json()
    original = _image(client, before["image_url"])
    r = client.patch(f"{API}/covers/{ids[0]}", json={"crop": {"x": 100, "y": 200, "width": 900,
                                                            "height": 700}})
    assert r.status_code == 200, r.text
    cropped = r.json()
    assert cropped["crop"] == {"x": 200, "y": 200, "size": 700}  # the square centred in the box
    assert cropped["image_url"] != before["image_url"]
    image = _image(client, cropped["image_url"])
    assert image.size == (1400, 1400)
    expected = original.crop((200, 200, 900, 900)).resize((1400, 1400))
    diff = sum(abs(a - b) for a, b in zip(image.resize((64, 64)).tobytes(),
                                         expected.resize((64, 64)).tobytes(), strict=True))
    assert diff / (64 * 64 * 3) < 8  # the same picture, up to JPEG re-encoding

    again = client.patch(f"{API}/covers/{ids[0]}", json={"crop": {"x": 0, "y": 0, "width": 1400,
                                                                "height": 1400}}).json()
    assert again["crop"] == {"x": 0, "y": 0, "size": 1400}  # from the original, not the crop
    assert client.patch(f"{API}/covers/{ids[0]}", json={"crop": None}).json()["crop"] is None
    bad = client.patch(f"{API}/covers/{ids[0]}", json={"crop": {"x": 5000, "y": 0, "width": 100,
                                                              "height": 100}})
    assert bad.status_code == 422 and "outside" in bad.json()["detail"]
    assert client.delete(f"{API}/covers/{ids[0]}").status_code == 204
    assert client.get(f"{API}/covers/{ids[0]}").status_code == 404


def test_missing_images_are_a_409_before_any_job(client: TestClient) -> None:
    pid = make_project(client)
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={})
    assert r.status_code == 409 and "cover" in r.json()["detail"]
    upload_image(client, pid, "cover")
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={"method": "photos"})
    assert r.status_code == 409 and "photo" in r.json()["detail"]
    assert client.post(f"{API}/projects/{pid}/covers/generate", json={"size": 999}).status_code == 422
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "dall-e"})
    assert r.status_code == 422


@pytest.mark.parametrize("damage", ["truncated", "bomb"])
def test_a_damaged_source_image_fails_the_job_with_a_clear_reason(
    client: TestClient, worker: Worker, session: Session, damage: str
) -> None:
    pid = make_project(client)
    upload_image(client, pid, "cover")
    key = session.scalars(select(SourceImage.path).where(SourceImage.project_id == pid)).one()
    session.rollback()  # on SQLite a session's first statement takes the write lock
    path = storage_of(client).path(key)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if damage == "truncated" else png_header_only(40000, 40000))
    done = _generate(client, worker, pid, backend="mosaic")
    assert done["status"] == "failed"
    reason = "truncated or corrupt" if damage == "truncated" else "decompression bomb"
    assert reason in done["error"], done["error"]
    assert client.get(f"{API}/projects/{pid}/covers").json()["data"] == []
