"""Rate limits on job-starting POSTs and uploads (RELIABILITY 32): real Redis on 127.0.0.1 (a key
prefix of each test's own, its keys deleted afterwards), real uvicorn on loopback with the
loopback exemption switched off, and real HTTP."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.rate_limits import limited_operations
from app.db import engine_for_url, session_factory
from app.main import create_app
from app.queue import RecordingQueue
from app.rate_limit import Policy, RedisLimiter
from app.services import projects
from app.settings import Settings
from tests.app.factories import image_bytes
from tests.web.conftest import LiveServer
from tests.worker.own_servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
TITLES = ["Low Orbit", "Deep Mutations", "Glass Harbour", "Night Engine", "Paper Sun", "Red Tide"]
BURST = 3
# One a minute: no token comes back while a test runs, however slow the machine (the test of
# the refill sets its own rate).
PER_MINUTE = 1


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    import redis

    r = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        r.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"albumbot-test:{uuid.uuid4().hex}"
    yield prefix
    for key in r.scan_iter(match=f"{prefix}:*"):
        r.delete(key)
    r.close()


@pytest.fixture
def limited(make_settings: Callable[..., Settings], redis_prefix: str) -> Settings:
    """Tight limits in the shared Redis, loopback not exempt (so the tests' own requests count)."""
    return make_settings(
        broker_url=REDIS_URL, rate_limit_enabled=True, rate_limit_exempt_loopback=False,
        rate_limit_burst=BURST, rate_limit_jobs_per_minute=PER_MINUTE,
        rate_limit_uploads_per_minute=PER_MINUTE, rate_limit_key_prefix=redis_prefix,
    )


def _project(settings: Settings) -> int:
    engine = engine_for_url(settings.database_url)
    try:
        with session_factory(engine)() as s:
            project = projects.create_project(s, name="Limits", artist="Band")
            projects.replace_titles(s, project.id, TITLES)
            return project.id
    finally:
        engine.dispose()


def _serve(stack: ExitStack, settings: Settings) -> tuple[str, RecordingQueue]:
    queue = RecordingQueue()
    server = stack.enter_context(LiveServer(create_app(settings, queue=queue)))
    return server.url, queue


def _generate(http: httpx.Client, base: str, project_id: int) -> httpx.Response:
    return http.post(f"{base}/api/v1/projects/{project_id}/titles/generate", json={"n": 5})


def _upload(http: httpx.Client, base: str, project_id: int) -> httpx.Response:
    return http.post(f"{base}/api/v1/projects/{project_id}/images", data={"role": "cover"},
                     files={"file": ("cover.png", image_bytes(), "image/png")})


def test_the_post_past_the_burst_gets_a_429_problem_and_nothing_is_queued(
    limited: Settings,
) -> None:
    project_id = _project(limited)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        base, queue = _serve(stack, limited)
        answers = [_generate(http, base, project_id) for _ in range(BURST + 1)]

    assert [a.status_code for a in answers] == [202] * BURST + [429]
    for left, ok in zip(range(BURST - 1, -1, -1), answers, strict=False):
        assert ok.headers["RateLimit-Limit"] == str(BURST)
        assert ok.headers["RateLimit-Remaining"] == str(left)
        assert int(ok.headers["RateLimit-Reset"]) >= 1
        assert ok.headers["RateLimit-Policy"] == f'{BURST};w=180;name="jobs";per_minute=1'
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 55 <= int(refused.headers["Retry-After"]) <= 60  # one token a minute
    assert refused.headers["RateLimit-Remaining"] == "0"
    body = refused.json()
    assert body["status"] == 429
    assert "too many job submissions" in body["detail"]
    assert f"at most {BURST} at once" in body["detail"]
    assert len(queue.sent) == BURST  # the refused request made no job


def test_after_retry_after_seconds_a_post_passes_again(limited: Settings) -> None:
    refilling = limited.model_copy(update={"rate_limit_jobs_per_minute": 30})  # one per 2 s
    project_id = _project(refilling)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        base, _ = _serve(stack, refilling)
        for _ in range(BURST):
            assert _generate(http, base, project_id).status_code == 202
        refused = _generate(http, base, project_id)
        assert refused.status_code == 429
        time.sleep(float(refused.headers["Retry-After"]) + 0.05)
        again = _generate(http, base, project_id)
        assert again.status_code == 202
        assert again.headers["RateLimit-Remaining"] == "0"  # one came back, and went
        assert _generate(http, base, project_id).status_code == 429


def test_two_app_instances_share_one_budget_through_redis(limited: Settings) -> None:
    project_id = _project(limited)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        (first, q1), (second, q2) = _serve(stack, limited), _serve(stack, limited)
        codes = [_generate(http, base, project_id).status_code
                 for base in (first, second, first, second, first, second)]
    assert codes == [202] * BURST + [429] * 3
    assert len(q1.sent) + len(q2.sent) == BURST


def test_uploads_have_a_budget_of_their_own_and_gets_have_none(limited: Settings) -> None:
    project_id = _project(limited)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        base, _ = _serve(stack, limited)
        for _ in range(BURST + 1):
            _generate(http, base, project_id)
        assert _generate(http, base, project_id).status_code == 429

        uploads = [_upload(http, base, project_id) for _ in range(BURST + 1)]
        reads = [http.get(f"{base}/api/v1/projects/{project_id}/images") for _ in range(20)]

    assert [u.status_code for u in uploads] == [201] * BURST + [429]
    assert uploads[0].headers["RateLimit-Remaining"] == str(BURST - 1)
    assert 'name="uploads"' in uploads[0].headers["RateLimit-Policy"]
    assert "too many uploads" in uploads[-1].json()["detail"]
    assert uploads[-1].headers["Connection"] == "close"  # the refused body is not read
    assert all(r.status_code == 200 for r in reads)
    assert all("RateLimit-Remaining" not in r.headers for r in reads)
    assert len(reads[-1].json()["data"]) == BURST  # the refused upload stored nothing


def test_without_a_token_each_address_has_its_own_budget_with_one_they_share_it(
    limited: Settings,
) -> None:
    """127.0.0.2 is loopback too: with the exemption off it stands in for a second client."""
    project_id = _project(limited)

    def codes(settings: Settings, headers: dict[str, str]) -> list[int]:
        out = []
        with ExitStack() as stack:
            base, _ = _serve(stack, settings)
            for source in ("127.0.0.1", "127.0.0.2"):
                transport = httpx.HTTPTransport(local_address=source)
                with httpx.Client(transport=transport, headers=headers, timeout=30) as http:
                    out += [_generate(http, base, project_id).status_code
                            for _ in range(BURST + 1)]
        return out

    assert codes(limited, {}) == ([202] * BURST + [429]) * 2
    token = "s3cret-token"
    shared = limited.model_copy(update={"api_token": token,
                                        "rate_limit_key_prefix": limited.rate_limit_key_prefix
                                        + ":token"})
    assert codes(shared, {"Authorization": f"Bearer {token}"}) == (
        [202] * BURST + [429] * (BURST + 2)
    )


def test_loopback_clients_are_exempt_by_default(limited: Settings) -> None:
    studio = limited.model_copy(update={"rate_limit_exempt_loopback": True})
    project_id = _project(studio)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        base, queue = _serve(stack, studio)
        answers = [_generate(http, base, project_id) for _ in range(BURST * 3)]
    assert all(a.status_code == 202 for a in answers)
    assert all("RateLimit-Limit" not in a.headers for a in answers)
    assert len(queue.sent) == BURST * 3


def test_without_a_redis_broker_the_budget_is_kept_in_process(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(rate_limit_enabled=True, rate_limit_burst=BURST)  # embedded broker
    project_id = _project(settings)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        codes = [client.post(f"/api/v1/projects/{project_id}/titles/generate",
                             json={"n": 5}).status_code for _ in range(BURST + 1)]
    assert codes == [202] * BURST + [429]


def test_with_redis_down_requests_are_answered_and_limited_per_process(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """Defined behaviour when Redis does not answer: no error and no open door, each web process
    keeps the budget itself (logged once) until Redis is back."""
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(broker_url=dead, rate_limit_enabled=True, rate_limit_burst=BURST)
    project_id = _project(settings)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        answers = [client.post(f"/api/v1/projects/{project_id}/titles/generate",
                               json={"n": 5}) for _ in range(BURST + 1)]
    assert [a.status_code for a in answers] == [202] * BURST + [429]
    assert answers[0].headers["RateLimit-Remaining"] == str(BURST - 1)
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_the_openapi_schema_documents_429_on_every_job_and_upload_post(
    client: TestClient,
) -> None:
    expected = {
        "/api/v1/projects/{project_id}/runs": "jobs",
        "/api/v1/runs/{run_id}/resume": "jobs",
        "/api/v1/checkpoints/{checkpoint_id}/generate": "jobs",
        "/api/v1/projects/{project_id}/analysis": "jobs",
        "/api/v1/projects/{project_id}/titles/generate": "jobs",
        "/api/v1/projects/{project_id}/covers/generate": "jobs",
        "/api/v1/albums/{album_id}/exports": "jobs",
        "/api/v1/projects/{project_id}/albums/auto": "jobs",
        "/api/v1/runs/{run_id}/radio": "jobs",
        "/api/v1/radio/{radio_id}/keep": "jobs",
        "/api/v1/runs/{run_id}/retention": "jobs",
        "/api/v1/projects/{project_id}/sources": "uploads",
        "/api/v1/projects/{project_id}/images": "uploads",
        "/api/v1/projects/{project_id}/checkpoints/import": "uploads",
        "/api/v1/projects/import": "uploads",
        "/projects/{project_id}/runs": "jobs",  # the studio's run form
    }
    found = limited_operations(client.app)  # type: ignore[arg-type]
    assert found == {(path, "post"): bucket for path, bucket in expected.items()}

    schema: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    for path in (p for p in expected if p.startswith("/api/v1")):
        responses = schema["paths"][path]["post"]["responses"]
        assert "Retry-After" in responses["429"]["headers"], path
        assert "application/problem+json" in responses["429"]["content"], path
        success = next(v for k, v in responses.items() if k.startswith("2"))
        assert "RateLimit-Remaining" in success["headers"], path
    assert "429" not in schema["paths"]["/api/v1/projects/{project_id}"]["get"]["responses"]


def test_a_wrong_token_is_refused_before_it_costs_anything(limited: Settings) -> None:
    guarded = limited.model_copy(update={"api_token": "right"})
    project_id = _project(guarded)
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        base, _ = _serve(stack, guarded)
        wrong = [http.post(f"{base}/api/v1/projects/{project_id}/titles/generate",
                           json={"n": 5}, headers={"Authorization": "Bearer wrong"})
                 for _ in range(BURST + 2)]
        right = http.post(f"{base}/api/v1/projects/{project_id}/titles/generate",
                          json={"n": 5}, headers={"Authorization": "Bearer right"})
    assert {w.status_code for w in wrong} == {401}
    assert right.status_code == 202
    assert right.headers["RateLimit-Remaining"] == str(BURST - 1)


def test_x_forwarded_for_names_the_client_only_from_a_trusted_proxy(limited: Settings) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 only (its --forwarded-allow-ips default):
    from there each forwarded address has its own budget; from 127.0.0.2 the header is ignored,
    so a client cannot buy a fresh budget by making one up."""
    project_id = _project(limited)
    with ExitStack() as stack:
        base, _ = _serve(stack, limited)

        def codes(source: str, forwarded: list[str]) -> list[int]:
            transport = httpx.HTTPTransport(local_address=source)
            with httpx.Client(transport=transport, timeout=30) as http:
                return [http.post(f"{base}/api/v1/projects/{project_id}/titles/generate",
                                  json={"n": 5}, headers={"X-Forwarded-For": f}).status_code
                        for f in forwarded]

        made_up = [f"198.51.100.{i}" for i in range(BURST + 1)]
        assert codes("127.0.0.2", made_up) == [202] * BURST + [429]
        assert codes("127.0.0.1", made_up) == [202] * (BURST + 1)  # four clients behind a proxy
        assert codes("127.0.0.1", ["203.0.113.9"] * (BURST + 1)) == [202] * BURST + [429]


def test_a_redis_that_never_answers_is_asked_once_per_retry_period() -> None:
    """A black hole (connections accepted, nothing answered) costs one timeout, not one per
    request: until the retry period ends the in-process bucket decides alone."""
    accepted: list[socket.socket] = []
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    stop = threading.Event()

    def take() -> None:
        hole.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(hole.accept()[0])
            except TimeoutError:
                continue

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    limiter = RedisLimiter(f"redis://127.0.0.1:{hole.getsockname()[1]}/0", timeout_s=0.2,
                           retry_s=3600)
    policy = Policy("jobs", per_minute=1, burst=BURST)
    try:
        decisions = [limiter.hit("k", policy) for _ in range(BURST + 3)]
    finally:
        stop.set()
        taker.join()
        limiter.close()
        for conn in accepted:
            conn.close()
        hole.close()
    assert [d.allowed for d in decisions] == [True] * BURST + [False] * 3
    assert len(accepted) == 1
