"""Safe by default (issue 13 item 3), against a real `albumbot web` (uvicorn) on loopback: a
client that sends its headers and then trickles the body gets 408 and is closed while others are
served; the token is required, compared by app/auth.same, and never written to the logs; off
loopback the service never runs open (a token is generated, kept 0600 and printed once)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.exposure import exposed_settings, is_loopback, token_path
from app.settings import Settings

TOKEN = "s3cret-token-that-must-never-be-logged"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("exposure")
    log = data / "web.log"
    port = _free_port()
    env = {
        **os.environ,
        "ALBUMBOT_API_TOKEN": TOKEN,
        "ALBUMBOT_BODY_IDLE_TIMEOUT_S": "0.5",
        "ALBUMBOT_BODY_GRACE_S": "1",
        "ALBUMBOT_BODY_MIN_RATE_BPS": "1024",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "web", "--data-dir", str(data),
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


def _get(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_trickling_body_gets_408_and_does_not_block_others(web: tuple[str, Path]) -> None:
    url, _ = web
    port = int(url.rsplit(":", 1)[1])
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(
        b"POST /api/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"
    )
    slow.settimeout(0.3)
    answer = b""
    for _ in range(200):  # a byte every 0.3 s: never idle 0.5 s, but far below 1 KB/s
        assert _get(url + "/healthz", None) == 200  # others are served meanwhile
        try:
            chunk = slow.recv(65536)
        except TimeoutError:
            slow.sendall(b" ")
            continue
        if not chunk:
            break
        answer += chunk
    slow.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in answer.lower()


def test_the_token_is_required_and_never_logged(web: tuple[str, Path]) -> None:
    url, log = web
    assert _get(url + "/api/v1/projects", None) == 401
    assert _get(url + "/api/v1/projects", TOKEN[:-1] + "x") == 401
    assert _get(url + "/api/v1/projects", TOKEN) == 200
    for given in (TOKEN, TOKEN + "-wrong"):  # the curator's sign-in form, right and wrong
        form = urllib.parse.urlencode({"token": given, "next": "/projects"}).encode()
        request = urllib.request.Request(url + "/login", data=form, method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as error:
            assert error.code in (303, 401), error.code
    time.sleep(0.5)  # let uvicorn flush its access log lines
    text = log.read_text()
    assert "GET /api/v1/projects" in text  # the access log is there, and read
    assert TOKEN not in text


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "albumbot.example"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_off_loopback_a_token_is_generated_once_and_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path)
    assert exposed_settings(settings, "127.0.0.1").api_token is None  # loopback may stay open
    first = exposed_settings(settings, "0.0.0.0").api_token
    assert first and len(first) >= 32
    assert first in capsys.readouterr().out  # printed for the operator, the first time only
    path = token_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert exposed_settings(settings, "0.0.0.0").api_token == first  # reused on restart
    assert first not in capsys.readouterr().out
    configured = Settings(data_dir=tmp_path, api_token="mine")
    assert exposed_settings(configured, "0.0.0.0").api_token == "mine"
