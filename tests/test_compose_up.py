"""docker-compose.yml brought up for real under podman, and one tiny run driven through it.

No container registry is needed: deploy/offline/build-images.sh builds stand-ins for the
registry images from Debian packages and deploy/offline/compose.offline.yml swaps them in;
everything else (commands, environment, volumes, published ports, start order) is the real
docker-compose.yml. Marked `container`; skipped, saying why, without podman, podman-compose
(`pip install -e '.[container]'`) or a way to build the stand-ins. Slow: the first build takes
minutes (debootstrap, apt, pip).

Start conditions: podman 4.3 (Debian bookworm) runs health checks only through systemd timers
and has no `podman wait --condition=healthy`, so podman-compose skips `service_healthy`. The
test therefore brings the stack up in docker-compose.yml's own order, doing what the conditions
say: redis and postgres until their health checks pass (`podman healthcheck run`), then migrate
until it exits 0, then the rest.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.worker.harness import (
    clips_of,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)
from tests.worker.test_up import free_port

pytestmark = [pytest.mark.container, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = ROOT / "deploy" / "offline"
STAND_INS = (
    "localhost/albumbot-offline/python:3.11",
    "localhost/albumbot-offline/redis:7",
    "localhost/albumbot-offline/postgres:15",
    "localhost/albumbot-offline/flower:2.0",
)


def _missing_engine() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman runc)"
    try:
        import podman_compose  # noqa: F401
    except ImportError:
        return "podman-compose is not installed (pip install -e '.[container]')"
    return None


def _podman_env() -> dict[str, str]:
    env = dict(os.environ)
    # This host's quirks (runc for cgroup hybrid mode, rlimits under the hard limits); a host
    # with its own podman configuration points CONTAINERS_CONF at it instead.
    env.setdefault("CONTAINERS_CONF", str(OFFLINE / "containers.conf"))
    return env


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=_podman_env(), capture_output=True, text=True, check=check
    )


class Stack:
    """One podman-compose project of docker-compose.yml + compose.offline.yml."""

    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = {**_podman_env(), **env}
        self.flower_url = f"http://127.0.0.1:{env['FLOWER_PORT']}/"
        user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
        self.flower_auth = (user, password)

    def compose(self, *args: str) -> str:
        command = [
            sys.executable, "-m", "podman_compose", "-p", self.project,
            "-f", str(ROOT / "docker-compose.yml"), "-f", str(OFFLINE / "compose.offline.yml"),
            *args,
        ]
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done.stdout

    def container(self, service: str) -> str:
        names = podman(
            "ps", "-a", "--format", "{{.Names}}",
            "--filter", f"label=com.docker.compose.project={self.project}",
            "--filter", f"label=com.docker.compose.service={service}",
        ).stdout.split()
        assert len(names) == 1, (service, names)
        return names[0]

    def wait_healthy(self, service: str, timeout: float) -> None:
        """What `condition: service_healthy` means: the service's own health check passes."""
        name = self.container(service)
        wait_for(
            lambda: podman("healthcheck", "run", name, check=False).returncode == 0,
            timeout, interval=1.0, what=f"{service} healthy",
        )

    def wait_completed(self, service: str) -> None:
        """What `condition: service_completed_successfully` means: it exited with status 0."""
        name = self.container(service)
        status = podman("wait", name).stdout.strip()
        assert status == "0", f"{service} exited {status}:\n{self.logs(service)}"

    def logs(self, service: str) -> str:
        done = podman("logs", self.container(service), check=False)
        return (done.stdout + done.stderr)[-4000:]


@pytest.fixture(scope="module")
def stand_ins() -> None:
    """The offline stand-ins for the registry images, built once per machine."""
    reason = _missing_engine()
    if reason:
        pytest.skip(reason)
    missing = [i for i in STAND_INS if podman("image", "exists", i, check=False).returncode]
    if not missing:
        return
    wheels = Path(os.environ.get("WHEELS", "/opt/wheels"))  # build-images.sh's default too
    if shutil.which("debootstrap") is None or not list(wheels.glob("torch-*+cpu-*.whl")):
        pytest.skip(f"{missing} not built and no debootstrap or CPU torch wheel to build them")
    subprocess.run([str(OFFLINE / "build-images.sh")], env=_podman_env(), check=True)


@pytest.fixture
def stack(stand_ins: None) -> Iterator[tuple[Stack, httpx.Client]]:
    token = secrets.token_urlsafe(16)
    web_port = free_port()
    s = Stack(
        f"albumbot-test-{os.getpid()}-{secrets.token_hex(3)}",
        {
            "POSTGRES_PASSWORD": secrets.token_urlsafe(12),
            "FLOWER_BASIC_AUTH": f"admin:{secrets.token_urlsafe(8)}",
            "ALBUMBOT_API_TOKEN": token,
            "WEB_PORT": str(web_port),
            "FLOWER_PORT": str(free_port()),
        },
    )
    try:
        # One build: every albumbot service (worker-gpu too, in compose.offline.yml) shares
        # the image albumbot:latest; layers are cached between runs.
        s.compose("build", "web")
        s.compose("up", "-d", "redis", "postgres")
        s.wait_healthy("postgres", 60)
        s.wait_healthy("redis", 60)
        s.compose("up", "-d", "--no-deps", "migrate")
        s.wait_completed("migrate")
        s.compose("up", "-d", "--no-deps", "web", "worker-gpu", "worker-cpu", "flower")
        s.wait_healthy("web", 60)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{web_port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as client:
            yield s, client
    finally:
        s.compose("down", "-v", "-t", "10")


def test_the_compose_stack_trains_a_tiny_run_through_the_published_port(
    stack: tuple[Stack, httpx.Client],
) -> None:
    s, client = stack
    # The published port serves the API only with the token (the compose default is loopback).
    assert httpx.get(f"{client.base_url}/api/v1/projects", timeout=10).status_code == 401
    health = client.get("/healthz").json()
    assert health["database"] == "ok", health

    t0 = time.monotonic()
    pid = new_project(client)  # a synthesized two-track album, uploaded as WAV
    run = start_run(client, pid, tiny_run(1))
    try:
        state = wait_run(client, run["id"], ("succeeded", "failed", "cancelled"), 300)
    except AssertionError as exc:
        job = get(client, f"/jobs/{run['job_id']}")
        raise AssertionError(f"{exc}; job {job}\n{s.logs('worker-gpu')}") from exc
    assert state["status"] == "succeeded", (state["error"], s.logs("worker-gpu"))
    took = time.monotonic() - t0

    clips = clips_of(client, pid, run["id"])
    assert sorted((c["epoch"], c["index"]) for c in clips) == [(1, 0), (1, 1)]
    audio = client.get(clips[0]["audio_url"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    # Trained by the gpu-queue container, written to the shared media volume, served by web.
    assert get(client, f"/jobs/{run['job_id']}")["status"] == "succeeded"
    assert re.search(r"Task run-training\[[^\]]+\] succeeded", s.logs("worker-gpu"))
    # Flower on its published port: behind its basic auth, and it sees the broker's workers.
    assert httpx.get(s.flower_url, timeout=10).status_code == 401
    listing = f"{s.flower_url}api/workers?refresh=1"
    workers = wait_for(
        lambda: httpx.get(listing, auth=s.flower_auth, timeout=30).json(),
        60, interval=2.0, what="flower to list the workers",
    )
    assert {name.split("@")[0] for name in workers} == {"gpu", "cpu"}, workers
    print(f"compose stack: tiny run of 1 epoch and 2 clips in {took:.1f} s")
