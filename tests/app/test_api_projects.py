from __future__ import annotations

from fastapi.testclient import TestClient

from app.storage import Storage
from tests.app.factories import audio_bytes

API = "/api/v1"


def create(client: TestClient, name: str = "Album", artist: str = "Artist") -> dict:
    r = client.post(f"{API}/projects", json={"name": name, "artist": artist})
    assert r.status_code == 201, r.text
    return r.json()


def test_project_crud(client: TestClient) -> None:
    project = create(client)
    assert client.get(f"{API}/projects/{project['id']}").json()["artist"] == "Artist"
    r = client.patch(f"{API}/projects/{project['id']}", json={"description": "grind"})
    assert r.status_code == 200 and r.json()["description"] == "grind" and r.json()["name"] == "Album"
    assert client.delete(f"{API}/projects/{project['id']}").status_code == 204
    r = client.get(f"{API}/projects/{project['id']}")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_create_needs_name_and_artist(client: TestClient) -> None:
    r = client.post(f"{API}/projects", json={"name": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "artist"]
    assert client.post(f"{API}/projects", json={"name": "x", "artist": "y", "bogus": 1}).status_code == 422


def test_list_is_cursor_paginated_newest_first(client: TestClient) -> None:
    ids = [create(client, name=f"p{i}")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{API}/projects", params=params).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert client.get(f"{API}/projects", params={"cursor": "garbage!"}).status_code == 422


def test_delete_removes_media_files(client: TestClient) -> None:
    project = create(client)
    files = {"files": ("a.wav", audio_bytes(), "audio/wav")}
    assert client.post(f"{API}/projects/{project['id']}/sources", files=files).status_code == 201
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    folder = storage.root / "projects" / str(project["id"])
    assert any(folder.rglob("*.wav"))
    assert client.delete(f"{API}/projects/{project['id']}").status_code == 204
    assert not folder.exists()


def test_titles_as_text_and_json(client: TestClient) -> None:
    pid = create(client)["id"]
    r = client.put(
        f"{API}/projects/{pid}/titles",
        content="Ghost in the Machine\n\n  Sunset Over the Sprawl  \nAmn\u00e9sie\n",
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert r.status_code == 200
    assert r.json()["data"] == ["Ghost in the Machine", "Sunset Over the Sprawl", "Amn\u00e9sie"]
    r = client.put(f"{API}/projects/{pid}/titles", json=["One", "Two"])
    assert r.json()["data"] == ["One", "Two"]
    assert client.get(f"{API}/projects/{pid}/titles").json()["data"] == ["One", "Two"]
    assert client.put(f"{API}/projects/{pid}/titles", json={"a": 1}).status_code == 422
    assert client.put(f"{API}/projects/{pid}/titles", json=["x", 3]).status_code == 422
    r = client.put(f"{API}/projects/{pid}/titles", content=b"<x/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415
    assert client.put(f"{API}/projects/999/titles", json=["x"]).status_code == 404
