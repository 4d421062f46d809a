"""Curators sign in with the token and get a session cookie; cookie-authenticated changes need
CSRF proof (RELIABILITY.md item 30); programs keep using the bearer token."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app import auth
from app.main import create_app
from app.queue import RecordingQueue
from app.settings import Settings

API = "/api/v1"
TOKEN = "curator-t0ken"


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    app = create_app(make_settings(api_token=TOKEN), queue=RecordingQueue())
    with TestClient(app, follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient) -> str:
    r = client.post("/login", data={"token": TOKEN, "next": "/projects"})
    assert r.status_code == 303 and r.headers["location"] == "/projects"
    return client.cookies[auth.CSRF_COOKIE]


def test_pages_send_strangers_to_the_sign_in_page(client: TestClient) -> None:
    r = client.get("/projects?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/projects%3Fx%3D1"
    assert client.post("/projects", data={"name": "a", "artist": "b"}).status_code == 401
    page = client.get("/login?next=/projects")
    assert page.status_code == 200 and 'name="token"' in page.text


def test_wrong_token_sets_no_cookie(client: TestClient) -> None:
    r = client.post("/login", data={"token": "guess", "next": "/projects"})
    assert r.status_code == 401 and "not the studio" in r.text
    assert auth.SESSION_COOKIE not in r.cookies and TOKEN not in r.text
    assert client.get(f"{API}/projects").status_code == 401


def test_session_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    r = client.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
    assert r.headers["location"] == "/projects"  # no open redirect
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(auth.SESSION_COOKIE))
    assert "HttpOnly" in session and "SameSite=lax" in session
    csrf = next(c for c in cookies if c.startswith(auth.CSRF_COOKIE))
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    assert TOKEN not in " ".join(cookies)


def test_signed_in_curator_reads_and_changes_with_csrf_proof(client: TestClient) -> None:
    csrf = sign_in(client)
    assert client.get("/projects").status_code == 200
    assert client.get(f"{API}/projects").status_code == 200
    body = {"name": "Album", "artist": "Band"}
    ok = client.post(f"{API}/projects", json=body, headers={auth.CSRF_HEADER: csrf})
    assert ok.status_code == 201
    page_form = client.post("/projects", data={**body, auth.CSRF_FIELD: csrf})
    assert page_form.status_code == 303
    # Same-origin fetch metadata and Origin are fine too.
    same = client.post(f"{API}/projects", json=body, headers={
        auth.CSRF_HEADER: csrf, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 201


@pytest.mark.parametrize("headers", [
    {},  # no token
    {auth.CSRF_HEADER: "0" * 64},  # wrong token
    {"Origin": "https://evil.example", "use-csrf": "1"},
    {"Sec-Fetch-Site": "cross-site", "use-csrf": "1"},
    {"Origin": "null", "use-csrf": "1"},
])
def test_cookie_changes_without_proof_are_refused(client: TestClient, headers: dict[str, str]) -> None:
    csrf = sign_in(client)
    if headers.pop("use-csrf", None):
        headers[auth.CSRF_HEADER] = csrf
    before = client.get(f"{API}/projects").json()["data"]
    r = client.post(f"{API}/projects", json={"name": "x", "artist": "y"}, headers=headers)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.post("/projects", data={"name": "x", "artist": "y"}, headers=headers).status_code == 403
    assert client.get(f"{API}/projects").json()["data"] == before  # nothing was written


def test_programs_use_the_bearer_token_without_csrf(client: TestClient) -> None:
    r = client.post(f"{API}/projects", json={"name": "a", "artist": "b"},
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 201
    r = client.post(f"{API}/projects", json={"name": "a", "artist": "b"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client)
    page = client.get("/projects")
    assert "Sign out" in page.text and f'value="{csrf}"' in page.text  # forms carry the CSRF field
    r = client.post("/logout", data={auth.CSRF_FIELD: csrf})
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/projects").status_code == 303


def test_open_studio_still_refuses_cross_site_form_posts(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(), queue=RecordingQueue())
    with TestClient(app, follow_redirects=False) as c:
        assert c.post("/projects", data={"name": "a", "artist": "b"}).status_code == 303
        r = c.post("/projects", data={"name": "a", "artist": "b"}, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        assert c.get("/login").status_code == 303  # nothing to sign in to
