"""GET /clips/{id}/excerpt: the samples asked for, exactly, as a small WAV (what the browser's
loops and previews of long clips decode), with Range and HEAD like the clip's own audio."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.app.factories import add_clip_with_audio, make_project

API = "/api/v1"
SR = 16000


def _clip(client: TestClient, app_session: Session, subtype: str = "PCM_16") -> tuple[int, np.ndarray]:
    rng = np.random.default_rng(3)
    x = (0.5 * rng.standard_normal(SR * 5)).clip(-1, 1).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="WAV", subtype=subtype)
    storage = client.app.state.storage  # type: ignore[attr-defined]
    project = make_project(app_session)
    clip = add_clip_with_audio(app_session, storage, project.id, buf.getvalue())
    stored, _ = sf.read(io.BytesIO(buf.getvalue()), dtype="float32")
    return clip.id, stored


def test_an_excerpt_holds_exactly_the_samples_asked_for(client: TestClient, app_session: Session) -> None:
    clip_id, x = _clip(client, app_session)
    r = client.get(f"{API}/clips/{clip_id}/excerpt", params={"start_s": 1.25, "end_s": 3.5})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert (r.headers["x-excerpt-start"], r.headers["x-excerpt-frames"], r.headers["x-excerpt-rate"]) == (
        "20000", "36000", "16000"
    )
    info = sf.info(io.BytesIO(r.content))
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    got, _ = sf.read(io.BytesIO(r.content), dtype="float32")
    assert np.array_equal(got, x[20000:56000])  # the same 16-bit integers
    # No end: to the clip's end; an end past it is cut there.
    tail = client.get(f"{API}/clips/{clip_id}/excerpt", params={"start_s": 4})
    assert tail.headers["x-excerpt-frames"] == "16000"
    past = client.get(f"{API}/clips/{clip_id}/excerpt", params={"start_s": 4, "end_s": 99})
    assert past.content == tail.content


def test_float_clips_give_float_excerpts(client: TestClient, app_session: Session) -> None:
    clip_id, x = _clip(client, app_session, subtype="FLOAT")
    r = client.get(f"{API}/clips/{clip_id}/excerpt", params={"start_s": 0, "end_s": 0.5})
    assert sf.info(io.BytesIO(r.content)).subtype == "FLOAT"
    assert np.array_equal(sf.read(io.BytesIO(r.content), dtype="float32")[0], x[:8000])


def test_ranges_head_and_validators(client: TestClient, app_session: Session) -> None:
    clip_id, _ = _clip(client, app_session)
    url = f"{API}/clips/{clip_id}/excerpt?start_s=1&end_s=2"
    whole = client.get(url)
    part = client.get(url, headers={"Range": "bytes=0-43"})
    assert part.status_code == 206 and part.content == whole.content[:44]
    assert part.headers["content-range"] == f"bytes 0-43/{len(whole.content)}"
    stale = client.get(url, headers={"Range": "bytes=0-43", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == whole.content
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))
    assert head.headers["etag"] == whole.headers["etag"]
    assert client.get(f"{API}/clips/{clip_id}/excerpt?start_s=1&end_s=3").headers["etag"] != (
        whole.headers["etag"]
    )


def test_ranges_outside_the_clip_are_422_and_unknown_clips_404(
    client: TestClient, app_session: Session
) -> None:
    clip_id, _ = _clip(client, app_session)
    for params, message in [
        ({"start_s": 5}, "not inside the clip"),
        ({"start_s": 2, "end_s": 1}, "not after start_s"),
        ({"start_s": -1}, "greater than or equal to 0"),
        ({}, "start_s"),
    ]:
        r = client.get(f"{API}/clips/{clip_id}/excerpt", params=params)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert message in r.json()["detail"], (params, r.json())
    assert client.get(f"{API}/clips/999/excerpt", params={"start_s": 0}).status_code == 404
