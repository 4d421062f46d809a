"""Priming clip generation from a moment of the album or of a clip (issue 10 item 4): what
`POST /checkpoints/{id}/generate` accepts and refuses as `prime`, the GENERATE payload it
queues (and that payload's JSON round trip), and the provenance a primed clip records. The
radio takes the same `prime` through the same resolution (app/services/priming.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.catalog import Checkpoint, Clip, Job
from app.contract.codec import ContractError
from app.contract.kinds import GENERATE
from app.contract.payloads import GeneratePayload, PrimeExcerpt
from app.queue import RecordingQueue, Sent
from app.services.priming import prime_provenance
from tests.app.factories import add_clip_with_audio, audio_bytes, make_project

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def album(client: TestClient) -> dict[str, Any]:
    """A project with a 1 s source track, a tiny run (lookback 16 samples at 16 kHz) with one
    checkpoint, and a clip of another project."""
    project = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()
    files = {"files": ("opening.wav", audio_bytes(seconds=1.0), "audio/wav")}
    r = client.post(f"{API}/projects/{project['id']}/sources", files=files)
    assert r.status_code == 201, r.text
    source = r.json()["data"][0] if "data" in r.json() else r.json()[0]
    run = client.post(f"{API}/projects/{project['id']}/runs", json={"preset": "tiny"}).json()
    app = client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        s.add(Checkpoint(run_id=run["id"], epoch=1, step=10, path="x.pt"))
        s.commit()
        checkpoint_id = s.scalars(select(Checkpoint.id).where(Checkpoint.run_id == run["id"])).one()
        other = make_project(s, name="Other")
        foreign = add_clip_with_audio(s, app.state.storage, other.id, audio_bytes())  # type: ignore[attr-defined]
        own = add_clip_with_audio(s, app.state.storage, project["id"], audio_bytes())  # type: ignore[attr-defined]
        ids = {"foreign_clip": foreign.id, "own_clip": own.id}
    return {"project": project, "source": source, "run": run, "checkpoint_id": checkpoint_id, **ids}


def generate(client: TestClient, checkpoint_id: int, prime: dict[str, Any]) -> Any:
    return client.post(
        f"{API}/checkpoints/{checkpoint_id}/generate",
        json={"n": 2, "seconds": 0.5, "seed": 11, "prime": prime},
    )


def test_a_primed_request_queues_the_resolved_excerpt(
    client: TestClient, queue: RecordingQueue, album: dict[str, Any]
) -> None:
    source = album["source"]
    r = generate(client, album["checkpoint_id"], {"source_id": source["id"], "start_s": 0.25, "seconds": 0.5})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["payload"]["prime"] == {
        "key": source_key(client, source["id"]), "start_s": 0.25, "seconds": 0.5,
        "source_id": source["id"], "clip_id": None, "label": "opening.wav",
    }
    assert queue.sent[-1] == Sent("generate-clips", job["id"], "gpu")
    # The stored row decodes to the typed payload the worker runs.
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        row = s.get(Job, job["id"])
        payload = GENERATE.decode(row.payload)
    assert isinstance(payload, GeneratePayload) and payload.prime is not None
    assert payload.prime.source_id == source["id"] and payload.prime.label == "opening.wav"
    # A clip of the same project primes too, labelled by its id.
    r = generate(client, album["checkpoint_id"], {"clip_id": album["own_clip"], "start_s": 0, "seconds": 1})
    assert r.status_code == 202, r.text
    assert r.json()["payload"]["prime"]["label"] == f"clip #{album['own_clip']}"


def source_key(client: TestClient, source_id: int) -> str:
    from app.catalog import SourceTrack

    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        source = s.get(SourceTrack, source_id)
        assert source is not None
        return source.path


@pytest.mark.parametrize(
    ("prime", "status", "names"),
    [
        ({"start_s": 0, "seconds": 1}, 422, "exactly one of source_id and clip_id"),
        ({"source_id": "S", "clip_id": "C", "seconds": 1}, 422, "exactly one of source_id and clip_id"),
        ({"source_id": "S", "seconds": 0}, 422, "prime.seconds"),
        ({"source_id": "S", "seconds": 31}, 422, "prime.seconds"),
        ({"source_id": "S", "start_s": -1}, 422, "prime.start_s"),
        ({"source_id": "S", "offset": 3}, 422, "prime.offset"),
        ({"source_id": "S", "start_s": 1.0}, 422, "after the end (1.0 s)"),
        ({"source_id": "S", "start_s": 0.9995, "seconds": 1}, 422, "shorter than the model's lookback"),
        ({"source_id": 9999}, 404, "source 9999 not found"),
        ({"clip_id": 9999}, 404, "clip 9999 not found"),
        ({"clip_id": "FOREIGN"}, 404, "not found"),
    ],
)
def test_a_bad_prime_is_refused_with_a_problem_naming_it(
    client: TestClient, queue: RecordingQueue, album: dict[str, Any],
    prime: dict[str, Any], status: int, names: str,
) -> None:
    ids = {"S": album["source"]["id"], "C": album["own_clip"], "FOREIGN": album["foreign_clip"]}
    prime = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in prime.items()}
    sent = len(queue.sent)
    r = generate(client, album["checkpoint_id"], prime)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert names in r.json()["detail"]
    assert len(queue.sent) == sent  # nothing queued, nothing half-written
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalars(select(Job).where(Job.kind == "generate")).all() == []


def test_the_radio_refuses_the_same_bad_prime(client: TestClient, album: dict[str, Any]) -> None:
    prime = {"source_id": album["source"]["id"], "start_s": 0.9995}
    r = client.post(f"{API}/runs/{album['run']['id']}/radio", json={"prime": prime})
    assert r.status_code == 422 and "lookback" in r.json()["detail"]
    r = client.post(f"{API}/runs/{album['run']['id']}/radio", json={"prime": {"clip_id": album["foreign_clip"]}})
    assert r.status_code == 404


PRIMED = GeneratePayload(
    checkpoint_id=4, run_id=2, n=3, seconds=5.0, temperature=0.9, seed=7, first_index=12,
    prime=PrimeExcerpt(key="projects/1/sources/a.wav", start_s=83.0, seconds=4.0, source_id=3, label="Side A"),
)


def test_a_primed_payload_round_trips_and_an_older_one_still_decodes() -> None:
    stored = json.loads(json.dumps(PRIMED.to_dict()))
    assert GENERATE.decode(stored) == PRIMED
    older = {k: v for k, v in stored.items() if k != "prime"}  # written before priming existed
    assert GENERATE.decode(older).prime is None
    foreign = {**stored, "prime": {**stored["prime"], "loudness": 1}}
    with pytest.raises(ContractError, match="prime: unknown fields loudness"):
        GENERATE.decode(foreign)


def test_a_primed_clip_records_the_moment_it_continues() -> None:
    assert PRIMED.prime is not None
    assert prime_provenance(PRIMED.prime) == {
        "kind": "prime", "prime": {"source_id": 3, "start_s": 83.0, "seconds": 4.0}, "label": "Side A",
    }
    from_clip = PrimeExcerpt(key="k.wav", start_s=1.5, seconds=2.0, clip_id=9, label="clip #9")
    assert prime_provenance(from_clip)["prime"] == {"clip_id": 9, "start_s": 1.5, "seconds": 2.0}


def test_the_clip_api_shows_a_primed_clips_provenance(client: TestClient, album: dict[str, Any]) -> None:
    assert PRIMED.prime is not None
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        clip = s.get(Clip, album["own_clip"])
        assert clip is not None
        clip.provenance = prime_provenance(PRIMED.prime)
        s.commit()
    out = client.get(f"{API}/clips/{album['own_clip']}").json()
    assert out["provenance"]["prime"] == {"source_id": 3, "start_s": 83.0, "seconds": 4.0}
    assert out["primed_from"] == "continued from Side A at 1:23"


def test_the_source_page_offers_continue_from_here_with_the_projects_epochs(
    client: TestClient, album: dict[str, Any]
) -> None:
    from bs4 import BeautifulSoup

    source, pid = album["source"], album["project"]["id"]
    project = BeautifulSoup(client.get(f"/projects/{pid}").text, "html.parser")
    assert project.select_one(f'a[data-source="{source["id"]}"]')["href"] == f"/sources/{source['id']}"
    r = client.get(f"/sources/{source['id']}")
    assert r.status_code == 200
    page = BeautifulSoup(r.text, "html.parser")
    assert page.select_one("#continue") is not None and page.select_one("#generate-more [data-gm-epoch]")
    data = json.loads(page.select_one("#page-data").get_text())
    # Every epoch of the project's runs, newest run first (the clip factory made a second run).
    runs = [c["run_id"] for c in data["checkpoints"]]
    assert runs == sorted(runs, reverse=True) and len(runs) == 2
    assert {"checkpoint_id": album["checkpoint_id"], "run_id": album["run"]["id"], "epoch": 1} in data["checkpoints"]
    assert data["source"]["audio_url"] == f"{API}/sources/{source['id']}/audio"
    assert client.get("/sources/9999").status_code == 404
