"""Fixtures for page and browser tests: a seeded studio behind TestClient, or behind a real
uvicorn server on a loopback port for headless Chromium (Debian's /usr/bin/chromium; no browser
download). Screenshots go to artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.migrate import upgrade
from app.queue import RecordingQueue
from app.settings import Settings
from tests.web.seed import Seeded, seed_studio

CHROMIUM = Path(os.environ.get("ALBUMBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--mute-audio",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@dataclass
class Studio:
    app: FastAPI
    seeded: Seeded
    base_url: str = ""

    @property
    def storage(self) -> Any:
        return self.app.state.storage


def make_studio(tmp: Path, *, api_token: str | None = None, **seed: Any) -> Studio:
    # Rate limits off: page tests behind TestClient (client "testclient", not loopback) start
    # runs freely; tests/app/test_rate_limit.py tests the limits.
    settings = Settings(data_dir=tmp / "data", sse_poll_s=0.05, api_token=api_token,
                        rate_limit_enabled=False)
    upgrade(settings)
    app = create_app(settings, queue=RecordingQueue())
    with app.state.session_factory() as session:
        seeded = seed_studio(session, app.state.storage, **seed)
    return Studio(app, seeded)


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return make_studio(tmp_path)


@pytest.fixture
def client(studio: Studio) -> Iterator[TestClient]:
    with TestClient(studio.app) as c:
        yield c


class LiveServer:
    """uvicorn serving `app` from a thread, on a free loopback port."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (CI installs Debian's chromium; `apt-get install -y chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(studio: Studio) -> Iterator[Studio]:
    with LiveServer(studio.app) as server:
        studio.base_url = server.url
        yield studio


@contextmanager
def browser_page(
    chromium: Any, base_url: str, *, timeout_ms: int = 15_000, console_errors: bool = False
) -> Iterator[Any]:
    """A page in a fresh browser context on `base_url`; its script errors (and, if asked, the
    console's errors) collect in `page.errors` for the test to check."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    if console_errors:
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
    page.errors = errors
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(chromium: Any, live: Studio) -> Iterator[Any]:
    with browser_page(chromium, live.base_url, console_errors=True) as page:
        yield page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
