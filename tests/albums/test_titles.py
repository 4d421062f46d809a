"""Generated titles: the job (through the real runner and lease), browsing, search, edit, pin."""

from __future__ import annotations

from fastapi.testclient import TestClient

from model.titles import normalize_title
from tests.albums.conftest import Worker
from tests.albums.factories import API, job, make_project
from tests.model.test_titles import DISCOGRAPHY

SOURCES = {normalize_title(t) for t in DISCOGRAPHY}


def _generate(client: TestClient, worker: Worker, pid: int, **body: object) -> dict:
    r = client.post(f"{API}/projects/{pid}/titles/generate", json=body)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"{API}/jobs/{r.json()['id']}"
    worker.run_all()
    done = job(client, r.json()["id"])
    assert done["status"] == "succeeded", done
    return done


def _all_titles(client: TestClient, pid: int, **params: object) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {**params, "limit": 400, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/projects/{pid}/titles/generated", params=query).json()
        out += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_a_40_title_discography_yields_500_novel_titles_in_1000_and_a_seed_repeats_them(
    client: TestClient, worker: Worker
) -> None:
    pid = make_project(client)
    assert client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY).status_code == 200

    first = _generate(client, worker, pid, n=1000, seed=7)
    rows = _all_titles(client, pid)
    texts = [t["text"] for t in rows]
    assert len(texts) == 1000 and first["result"]["count"] == 1000
    novel = {normalize_title(t) for t in texts} - SOURCES
    assert len(novel) >= 500
    assert not {normalize_title(t) for t in texts} & SOURCES
    assert [t["position"] for t in rows] == list(range(1000))
    assert {t["seed"] for t in rows} == {7} and {t["job_id"] for t in rows} == {first["id"]}

    second = _generate(client, worker, pid, n=1000, seed=7)
    again = [t["text"] for t in _all_titles(client, pid) if t["job_id"] == second["id"]]
    assert again == texts
    other = _generate(client, worker, pid, n=50, seed=8)
    assert [t["text"] for t in _all_titles(client, pid) if t["job_id"] == other["id"]] != texts[:50]


def test_search_pin_edit_and_replace_keep_the_pinned(client: TestClient, worker: Worker) -> None:
    pid = make_project(client)
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY)
    _generate(client, worker, pid, n=60, seed=1)
    rows = _all_titles(client, pid)
    word = rows[0]["text"].split()[0]
    found = _all_titles(client, pid, q=word.upper())
    assert found and all(word.lower() in t["text"].lower() for t in found)
    assert _all_titles(client, pid, q="%") == [t for t in rows if "%" in t["text"]]

    title_id = rows[3]["id"]
    r = client.patch(f"{API}/titles/{title_id}", json={"text": "  Bot   Prownies ", "pinned": True})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Bot Prownies" and r.json()["pinned"] is True
    assert [t["id"] for t in _all_titles(client, pid, pinned=True)] == [title_id]
    assert client.patch(f"{API}/titles/{title_id}", json={"text": "   "}).status_code == 422
    assert client.patch(f"{API}/titles/{title_id}", json={"colour": "red"}).status_code == 422
    assert client.patch(f"{API}/titles/999999", json={"pinned": True}).status_code == 404

    _generate(client, worker, pid, n=10, seed=2, replace=True)
    left = _all_titles(client, pid)
    assert len(left) == 11 and title_id in {t["id"] for t in left}


def test_generating_needs_a_discography_and_a_sane_request(client: TestClient, worker: Worker) -> None:
    pid = make_project(client)
    r = client.post(f"{API}/projects/{pid}/titles/generate", json={"n": 10})
    assert r.status_code == 409 and "at least 5" in r.json()["detail"]
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY[:6])
    assert client.post(f"{API}/projects/{pid}/titles/generate", json={"n": 0}).status_code == 422
    assert client.post(f"{API}/projects/999/titles/generate", json={}).status_code == 404
    # The discography list keeps its own shape next to the generated titles.
    assert client.get(f"{API}/projects/{pid}/titles").json()["data"] == DISCOGRAPHY[:6]


def test_the_same_idempotency_key_gives_the_same_job(client: TestClient, worker: Worker) -> None:
    pid = make_project(client)
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY)
    headers = {"Idempotency-Key": "titles-1"}
    a = client.post(f"{API}/projects/{pid}/titles/generate", json={"n": 5}, headers=headers)
    b = client.post(f"{API}/projects/{pid}/titles/generate", json={"n": 5}, headers=headers)
    assert a.json()["id"] == b.json()["id"]
    assert len(worker.queue.sent) == 1
