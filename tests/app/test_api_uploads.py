"""Uploads: good files are kept, bad ones refused with a reason and leave nothing behind."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.catalog import SourceImage, SourceTrack
from app.main import create_app
from app.queue import RecordingQueue
from app.settings import Settings
from tests.app.factories import audio_bytes, image_bytes, png_header_only

API = "/api/v1"


@pytest.fixture
def pid(client: TestClient) -> int:
    return int(client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"])


def media_files(client: TestClient) -> list[Path]:
    root: Path = client.app.state.storage.root  # type: ignore[attr-defined]
    return [p for p in root.rglob("*") if p.is_file()]


def row_count(client: TestClient, model: type) -> int:
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_upload_audio_files(client: TestClient, pid: int) -> None:
    files = [
        ("files", ("one.wav", audio_bytes("WAV", 1.0), "audio/wav")),
        ("files", ("two.flac", audio_bytes("FLAC", 2.0), "audio/flac")),
    ]
    r = client.post(f"{API}/projects/{pid}/sources", files=files)
    assert r.status_code == 201, r.text
    tracks = r.json()["data"]
    assert [(t["display_name"], t["format"], t["frames"]) for t in tracks] == [
        ("one.wav", "WAV", 16000), ("two.flac", "FLAC", 32000)
    ]
    assert tracks[1]["duration_s"] == pytest.approx(2.0)
    assert len(client.get(f"{API}/projects/{pid}/sources").json()["data"]) == 2
    stored = media_files(client)
    assert len(stored) == 2 and all(len(p.stem) == 32 for p in stored)  # uuid names


def test_traversal_filename_is_only_a_display_name(client: TestClient, pid: int) -> None:
    files = {"files": ("../../etc/x.flac", audio_bytes("FLAC"), "audio/flac")}
    r = client.post(f"{API}/projects/{pid}/sources", files=files)
    assert r.status_code == 201
    assert r.json()["data"][0]["display_name"] == "x.flac"
    (stored,) = media_files(client)
    root: Path = client.app.state.storage.root  # type: ignore[attr-defined]
    assert stored.resolve().is_relative_to(root) and stored.name != "x.flac"


def _truncated_flac() -> bytes:
    data = audio_bytes("FLAC", 3.0)
    return data[: len(data) // 2]


BAD_AUDIO: list[tuple[str, Callable[[], bytes], set[int], str]] = [
    ("empty.wav", lambda: b"", {422}, "empty"),
    ("noise.flac", lambda: bytes(range(256)) * 40, {415}, "noise.flac"),
    ("cut.flac", _truncated_flac, {415, 422}, "cut.flac"),
    ("page.flac", lambda: b"<!doctype html><html><body>hi</body></html>" * 20, {415}, "page.flac"),
    ("cut.wav", lambda: audio_bytes("WAV", 2.0)[:20000], {422}, "cut.wav"),
]


@pytest.mark.parametrize(("name", "make", "statuses", "mentions"), BAD_AUDIO, ids=[b[0] for b in BAD_AUDIO])
def test_bad_audio_is_refused_and_leaves_nothing(
    client: TestClient, pid: int, name: str, make: Callable[[], bytes], statuses: set[int], mentions: str
) -> None:
    good = ("files", ("good.wav", audio_bytes(), "audio/wav"))
    r = client.post(f"{API}/projects/{pid}/sources", files=[good, ("files", (name, make(), "audio/flac"))])
    assert r.status_code in statuses, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert mentions in r.json()["detail"]
    assert row_count(client, SourceTrack) == 0  # the good file went too: all or nothing
    assert media_files(client) == []


def test_upload_without_files_field(client: TestClient, pid: int) -> None:
    r = client.post(f"{API}/projects/{pid}/sources", files={"other": ("a.wav", audio_bytes(), "audio/wav")})
    assert r.status_code == 422 and "files" in r.json()["detail"]
    assert media_files(client) == []
    r = client.post(f"{API}/projects/{pid}/sources", json={"files": []})
    assert r.status_code == 415


def test_upload_to_missing_project_is_404(client: TestClient) -> None:
    r = client.post(f"{API}/projects/77/sources", files={"files": ("a.wav", audio_bytes(), "audio/wav")})
    assert r.status_code == 404


def test_file_over_the_limit_is_413_while_streaming(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(max_upload_bytes=50_000)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
        big = audio_bytes("WAV", 3.0)  # ~96 kB
        r = client.post(f"{API}/projects/{pid}/sources", files={"files": ("big.wav", big, "audio/wav")})
        assert r.status_code == 413 and "big.wav" in r.json()["detail"]
        assert media_files(client) == [] and row_count(client, SourceTrack) == 0


def test_request_over_the_total_limit_is_413_before_reading(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(max_request_bytes=10_000)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
        r = client.post(f"{API}/projects/{pid}/sources", files={"files": ("a.wav", audio_bytes(), "audio/wav")})
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
        assert media_files(client) == []


def test_json_bodies_have_a_small_limit(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(max_body_bytes=1000), queue=RecordingQueue())) as client:
        r = client.post(f"{API}/projects", json={"name": "A", "artist": "B", "description": "x" * 5000})
        assert r.status_code == 413


@pytest.fixture(params=["per-file cap", "per-request cap"])
def live_server(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[tuple[int, Path]]:
    """uvicorn on loopback: TestClient buffers bodies, so chunked streaming needs a real server.
    The 200 kB cap is either the upload parser's (per file) or the middleware's (per request)."""
    cap = "max_upload_bytes" if request.param == "per-file cap" else "max_request_bytes"
    settings = make_settings(**{cap: 200_000})
    app = create_app(settings, queue=RecordingQueue())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield sock.getsockname()[1], settings.media_dir
    server.should_exit = True
    thread.join(5)


def test_chunked_upload_without_content_length_is_cut_off(live_server: tuple[int, Path]) -> None:
    port, media = live_server
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        pid = http.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
    boundary = "xyz"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.wav\"\r\n"
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    sent = 0
    answered_after: list[int] = []
    response = bytearray()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)  # keep kernel buffering small
        s.connect(("127.0.0.1", port))

        def read() -> None:
            while data := s.recv(65536):
                if not response:
                    answered_after.append(sent)
                response.extend(data)

        s.sendall(
            f"POST {API}/projects/{pid}/sources HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        s.sendall(b"%x\r\n%s\r\n" % (len(head), head))
        s.settimeout(5)
        chunk = b"\0" * 16384
        try:
            for _ in range(2000):  # would be 32 MB; the cap is 200 kB
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        reader.join(5)
    assert bytes(response).startswith(b"HTTP/1.1 413"), bytes(response[:200])
    # Answered once about the cap had arrived (plus socket buffers), not after all 32 MB.
    assert answered_after and answered_after[0] < 2_000_000, answered_after
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_upload_images(client: TestClient, pid: int) -> None:
    r = client.post(
        f"{API}/projects/{pid}/images",
        files={"file": ("cover.jpg", image_bytes("JPEG"), "image/jpeg")},
        data={"role": "cover"},
    )
    assert r.status_code == 201, r.text
    image = r.json()
    assert (image["role"], image["format"], image["width"], image["height"]) == ("cover", "JPEG", 64, 48)
    got = client.get(image["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    r = client.post(
        f"{API}/projects/{pid}/images",
        files={"file": ("band.webp", image_bytes("WEBP"), "image/webp")},
        data={"role": "photo"},
    )
    assert r.status_code == 201 and r.json()["format"] == "PNG"  # re-encoded
    assert [i["role"] for i in client.get(f"{API}/projects/{pid}/images").json()["data"]] == ["cover", "photo"]


def _truncated_jpeg() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()[:3000]


BAD_IMAGES: list[tuple[str, Callable[[], bytes], str, set[int]]] = [
    ("bomb.png", lambda: png_header_only(20000, 20000), "photo", {413}),
    ("big.png", lambda: png_header_only(7000, 7000), "photo", {413}),  # 49 MP > 40 MP
    ("cut.jpg", _truncated_jpeg, "photo", {422}),
    ("text.png", lambda: b"just some text, not a PNG" * 10, "photo", {415}),
    ("pic.gif", lambda: image_bytes("GIF"), "photo", {415}),
    ("empty.png", lambda: b"", "photo", {422}),
    ("ok.png", lambda: image_bytes("PNG"), "poster", {422}),
]


@pytest.mark.parametrize(("name", "make", "role", "statuses"), BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_bad_images_are_refused_and_leave_nothing(
    client: TestClient, pid: int, name: str, make: Callable[[], bytes], role: str, statuses: set[int]
) -> None:
    r = client.post(f"{API}/projects/{pid}/images", files={"file": (name, make(), "image/png")}, data={"role": role})
    assert r.status_code in statuses, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert row_count(client, SourceImage) == 0 and media_files(client) == []


def test_too_many_files_or_fields(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(max_upload_files=2), queue=RecordingQueue())) as client:
        pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
        files = [("files", (f"{i}.wav", audio_bytes(), "audio/wav")) for i in range(3)]
        r = client.post(f"{API}/projects/{pid}/sources", files=files)
        assert r.status_code == 413 and "too many files" in r.json()["detail"]
        fields = {f"f{i}": "x" for i in range(50)}
        r = client.post(f"{API}/projects/{pid}/sources", files=files[:1], data=fields)
        assert r.status_code == 413 and "fields" in r.json()["detail"]
        assert media_files(client) == [] and row_count(client, SourceTrack) == 0


def test_multipart_body_cut_short_is_refused(client: TestClient, pid: int) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.wav"\r\n\r\n' + audio_bytes()
    r = client.post(
        f"{API}/projects/{pid}/sources", content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 422 and "boundary" in r.json()["detail"]
    assert media_files(client) == []


@pytest.mark.parametrize("live_server", ["per-file cap"], indirect=True)
def test_a_slow_upload_does_not_block_other_writers(live_server: tuple[int, Path]) -> None:
    import httpx

    port, _ = live_server
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base) as http:
        pid = http.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            f"POST {API}/projects/{pid}/sources HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.wav"\r\n\r\nRIFF'
        s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        time.sleep(0.3)  # the upload is now open, its project checked
        start = time.perf_counter()
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.post(f"{API}/projects", json={"name": "C", "artist": "D"})
        assert r.status_code == 201 and time.perf_counter() - start < 3
