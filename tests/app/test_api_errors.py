"""Cross-cutting API behaviour: problem+json everywhere, bearer auth, OpenAPI, sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.api.deps import SessionDep
from app.catalog import Project
from app.main import create_app
from app.queue import RecordingQueue
from app.settings import Settings

API = "/api/v1"


def assert_problem(r: object, status: int) -> dict:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["title"] and "type" in body
    return body


def test_errors_are_problem_json(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/nowhere"), 404)
    assert_problem(client.get(f"{API}/projects/1"), 404)
    assert_problem(client.put(f"{API}/projects"), 405)
    assert_problem(client.get(f"{API}/runs/abc"), 422)
    body = assert_problem(client.post(f"{API}/projects", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert body["errors"]


def test_405_allows_every_method_of_the_path(client: TestClient) -> None:
    # Two routes share /projects (GET lists, POST creates): Allow names both, not the first.
    response = client.put(f"{API}/projects")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
    # A static path beside an id path: only digits are ids, so a method /projects/import lacks
    # is a 405 naming POST, not a 422 about project_id "import" (nor a 422 for /projects/abc).
    response = client.patch(f"{API}/projects/import")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"
    assert client.patch(f"{API}/covers/backends").headers["allow"] == "GET"
    assert_problem(client.get(f"{API}/projects/abc"), 404)


def test_unexpected_exceptions_are_500_problems_without_tracebacks(settings: Settings) -> None:
    app = create_app(settings, queue=RecordingQueue())
    boom = APIRouter()

    @boom.get("/boom")
    def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_problem(client.get("/boom"), 500)
        assert "secret" not in str(body)


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    assert client.get(f"{API}/healthz").status_code == 200


def test_openapi_without_token_is_open(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    assert "securitySchemes" not in schema.get("components", {})
    assert client.get(f"{API}/projects").status_code == 200
    upload = schema["paths"][f"{API}/projects/{{project_id}}/sources"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


@pytest.fixture
def token_client(make_settings: Callable[..., Settings]) -> TestClient:
    app = create_app(make_settings(api_token="t0ken-value"), queue=RecordingQueue())
    return TestClient(app)


def test_bearer_token_required_when_configured(token_client: TestClient) -> None:
    with token_client as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dDp0"}):
            r = client.get(f"{API}/projects", headers=headers)
            assert_problem(r, 401)
            assert r.headers["www-authenticate"] == "Bearer"
        ok = client.get(f"{API}/projects", headers={"Authorization": "Bearer t0ken-value"})
        assert ok.status_code == 200
        assert client.get("/healthz").status_code == 200  # orchestrator probe stays open
        schema = client.get(f"{API}/openapi.json").json()
        schemes = schema["components"]["securitySchemes"]
        assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
        # The token never appears in answers.
        assert "t0ken-value" not in client.get(f"{API}/projects", headers={"Authorization": "Bearer x"}).text


def test_failing_requests_return_their_connections_and_write_nothing(settings: Settings) -> None:
    app = create_app(settings, queue=RecordingQueue())
    failing = APIRouter()

    @failing.post("/half-done")
    def half_done(session: SessionDep) -> None:
        session.add(Project(name="partial", artist="x"))
        session.flush()  # the row is written inside the open transaction...
        raise RuntimeError("...and then the handler fails")

    app.include_router(failing)
    engine = app.state.engine
    with TestClient(app, raise_server_exceptions=False) as client:
        for i in range(100):
            assert client.post("/half-done").status_code == 500
            assert client.patch(f"{API}/projects/{1000 + i}", json={"name": "x"}).status_code == 404
        assert engine.pool.checkedout() == 0
        assert client.get(f"{API}/projects").json()["data"] == []


@pytest.mark.parametrize("path", [
    f"{API}/runs/{2**80}",
    f"{API}/exports/{2**40}",
    f"{API}/projects/{2**70}/clips",
    f"{API}/jobs/{2**65}/events",
])
def test_ids_past_the_catalogs_range_are_422_not_500(client: TestClient, path: str) -> None:
    """Found by schemathesis: huge ids reached the SQLite driver (OverflowError, a 500)."""
    assert_problem(client.get(path), 422)


def test_out_of_range_numbers_in_bodies_are_422(client: TestClient) -> None:
    project = client.post(f"{API}/projects", json={"name": "a", "artist": "b"}).json()
    r = client.post(f"{API}/projects/{project['id']}/albums",
                    json={"title": "t", "artist": "a", "tracks": [{"track_id": 2**70}]})
    assert r.status_code in (404, 422) and r.headers["content-type"] == "application/problem+json"
