"""The radio end to end: real worker processes, real HTTP, a real decoder (ffmpeg).

One radio of a `tiny` checkpoint serves the whole module, in order: API problems, several
concurrent listeners for ~20 s of audio (continuity, a stalled listener that stalls nobody),
"keep that", a web app restart, a worker kill, and stop.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest

from tests.radio.conftest import Trained
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.worker.harness import API, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed"),
]
PREROLL_S = 2.0  # app/radio/listener.py: what a new listener gets at once
SEGMENT_S = 0.25


def decoded_seconds(mp3: bytes, sr: int = 16000) -> float:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
         "-f", "s16le", "-ac", "1", "-ar", str(sr), "pipe:1"],
        input=mp3, capture_output=True, check=True,
    ).stdout
    return len(out) / 2 / sr


class Listener(threading.Thread):
    """Reads the stream for `seconds` of wall time (optionally stalling for a while)."""

    def __init__(self, port: int, radio_id: int, seconds: float, *, stall: tuple[float, float]
                 | None = None, icy: bool = False) -> None:
        super().__init__(daemon=True)
        self.port, self.radio_id, self.seconds, self.stall, self.icy = (
            port, radio_id, seconds, stall, icy)
        self.data = bytearray()
        self.meta: list[bytes] = []
        self.elapsed = 0.0
        self.start_s = 0.0
        self.error: BaseException | None = None
        self.end_state: dict[str, Any] = {}

    def run(self) -> None:
        try:
            self._listen()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _listen(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.connect()
        assert conn.sock is not None
        if self.stall:  # a tiny receive window: the server feels the stall at once
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        headers = {"Icy-MetaData": "1"} if self.icy else {}
        conn.request("GET", f"{API}/radio/{self.radio_id}/stream", headers=headers)
        r = conn.getresponse()
        assert r.status == 200, r.read()
        self.start_s = float(r.headers["X-Radio-Start-S"])
        metaint = int(r.headers["icy-metaint"]) if self.icy else 0
        t0 = time.monotonic()
        while (now := time.monotonic() - t0) < self.seconds:
            if self.stall and self.stall[0] <= now < self.stall[1]:
                time.sleep(0.1)
                continue
            if metaint:
                self.data += _read_exactly(r, metaint)
                n = _read_exactly(r, 1)[0]
                if n:
                    self.meta.append(_read_exactly(r, n * 16).rstrip(b"\0"))
            else:
                self.data += r.read1(4096)
        self.elapsed = time.monotonic() - t0
        conn.close()
        self.end_state = state(f"http://127.0.0.1:{self.port}", self.radio_id)

    def expected_s(self) -> float:
        """What it should have heard: from where it started to the air clock plus the preroll,
        or to the end of what was generated when the generator was behind (on a loaded
        machine it may be): anything less is a gap."""
        on_air, ahead = self.end_state["elapsed_s"], self.end_state["buffered_s"]
        return min(on_air + PREROLL_S + SEGMENT_S, on_air + ahead) - self.start_s


def _read_exactly(r: http.client.HTTPResponse, n: int) -> bytes:
    out = b""
    while len(out) < n:
        piece = r.read(n - len(out))
        assert piece, "the stream ended"
        out += piece
    return out


def api(base: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{base}{API}{path}", timeout=30, **kw)


@pytest.fixture(scope="module")
def radio(trained: Trained) -> dict[str, Any]:
    with trained.server() as web:
        r = api(web.url, "POST", f"/runs/{trained.run_id}/radio", json={"seed": 7, "keep_s": 60})
        assert r.status_code == 202, r.text
        assert r.headers["Location"] == f"{API}/radio/{r.json()['id']}"
        radio_id = r.json()["id"]
        wait_for(lambda: api(web.url, "GET", f"/radio/{radio_id}").json()["on_air"], 60,
                 what="the radio on air")
    return {"id": radio_id}


def state(base: str, radio_id: int) -> dict[str, Any]:
    r = api(base, "GET", f"/radio/{radio_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_problems_name_what_was_wrong(trained: Trained, radio: dict[str, Any]) -> None:
    with trained.server() as web:
        for method, path, body, status in [
            ("POST", "/runs/999999/radio", {}, 404),
            ("POST", f"/runs/{trained.run_id}/radio", {"temperature": -1}, 422),
            ("POST", f"/runs/{trained.run_id}/radio", {"volume": 11}, 422),
            ("POST", f"/runs/{trained.run_id}/radio", {"epoch": 99}, 404),
            ("POST", f"/runs/{trained.run_id}/radio", {"prime": {"start_s": 1}}, 422),
            ("GET", "/radio/999999", None, 404),
            ("POST", f"/radio/{radio['id']}/keep", {"seconds": -3}, 422),
        ]:
            r = api(web.url, method, path, json=body)
            assert r.status_code == status, (path, body, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["detail"]


def test_listeners_hear_one_continuous_stream_and_a_stalled_one_stalls_nobody(
    trained: Trained, radio: dict[str, Any]
) -> None:
    with trained.server() as web:
        healthy = [Listener(web.port, radio["id"], 20.0) for _ in range(3)]
        icy = Listener(web.port, radio["id"], 20.0, icy=True)
        stalled = Listener(web.port, radio["id"], 20.0, stall=(2.0, 12.0))
        everyone = [*healthy, icy, stalled]
        for listener in everyone:
            listener.start()
        for listener in everyone:
            listener.join(60)
            assert listener.error is None, listener.error
        rtf = state(web.url, radio["id"])["realtime_factor"]
    for listener in [*healthy, icy]:
        heard = decoded_seconds(bytes(listener.data))
        # Every segment from the one on air when it connected on, without gaps: a skipped or
        # missing stretch would make it short. When the generator kept up, that is the
        # listening time + the preroll, i.e. elapsed time x rate.
        expected = listener.expected_s()
        assert abs(heard - expected) < 1.0, (heard, expected, listener.elapsed, rtf)
        if listener.end_state["buffered_s"] >= PREROLL_S + SEGMENT_S:
            assert abs(heard - (listener.elapsed + PREROLL_S + SEGMENT_S)) < 1.0
    titles = [m.decode() for m in icy.meta]
    assert titles and all(t.startswith(f"StreamTitle='albumbot radio {radio['id']} · epoch 1 · ")
                          for t in titles)
    assert titles == sorted(titles)  # stream time only moves on
    assert decoded_seconds(bytes(stalled.data)) > 1.0  # it got the stream, stalled, resumed


def test_keep_that_lands_a_clip_with_its_provenance(trained: Trained, radio: dict[str, Any]) -> None:
    with trained.server() as web:
        r = api(web.url, "POST", f"/radio/{radio['id']}/keep", json={"seconds": 5})
        assert r.status_code == 201, r.text
        clip = r.json()
        again = api(web.url, "POST", f"/radio/{radio['id']}/keep",
                    json={"seconds": 5, "end_s": clip["provenance"]["offset_s"] + 5}).json()
        audio = httpx.get(f"{web.url}{clip['audio_url']}", timeout=30)
    p = clip["provenance"]
    assert p["radio_id"] == radio["id"] and p["epoch"] == 1 and p["seed"] == 7
    assert p["checkpoint_id"] == clip["checkpoint_id"] and p["offset_s"] >= 0
    assert abs(clip["duration_s"] - 5.0) <= SEGMENT_S and "radio" in clip["tags"]
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert again["id"] == clip["id"]  # the same moment kept twice is one clip
    radio["kept"] = clip["id"]


@pytest.mark.browser
def test_the_radio_page_plays_the_stream_and_k_keeps_that(
    trained: Trained, radio: dict[str, Any]
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    from playwright.sync_api import sync_playwright

    with trained.server() as web, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        page = browser.new_page(base_url=web.url)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"/runs/{trained.run_id}/radio")
        assert page.locator(f"a[href='/radio/{radio['id']}']").count() == 1
        page.goto(f"/radio/{radio['id']}")
        page.locator("#radio-rtf").filter(has_text="×").wait_for(timeout=15_000)
        page.evaluate("document.getElementById('radio-audio').play()")
        # It plays: the player's clock moves on while the stream keeps arriving.
        page.wait_for_function(
            "() => document.getElementById('radio-audio').currentTime > 1.5", timeout=20_000
        )
        page.keyboard.press("k")
        page.locator("#radio-kept a").wait_for(timeout=15_000)
        href = page.locator("#radio-kept a").get_attribute("href")
        browser.close()
    assert errors == []
    assert href is not None
    clip_id = int(href.rsplit("/", 1)[1])
    with trained.server() as web:
        got = api(web.url, "GET", f"/clips/{clip_id}").json()
    # 30 s by default, or all the stream so far when it is younger
    assert got["provenance"]["radio_id"] == radio["id"] and 1.0 < got["duration_s"] <= 30.0


def test_the_radio_keeps_going_across_a_web_app_restart(trained: Trained, radio: dict[str, Any]) -> None:
    with trained.server() as web:
        before = state(web.url, radio["id"])
        first = Listener(web.port, radio["id"], 3.0)
        first.run()
        assert first.error is None and first.data
    time.sleep(1.0)  # no web app at all for a second
    with trained.server() as web:  # a new web app: the listener reconnects
        again = Listener(web.port, radio["id"], 3.0)
        again.run()
        after = state(web.url, radio["id"])
    assert again.error is None and decoded_seconds(bytes(again.data)) > 1.0
    # The stream went on while nobody served it (the generator may run behind on a loaded box).
    assert again.start_s > first.start_s + 1.0
    generated = after["elapsed_s"] + after["buffered_s"]
    assert generated > before["elapsed_s"] + before["buffered_s"] + 3.0
    assert len(after["generations"]) == len(before["generations"])  # the same generator


def test_a_killed_worker_hands_the_radio_to_another(trained: Trained, radio: dict[str, Any]) -> None:
    stack = trained.stack
    spare = stack.new_worker(name="spare@%h").start()
    first = stack.workers[0]
    with trained.server() as web:
        listener = Listener(web.port, radio["id"], 18.0)
        listener.start()
        time.sleep(2.0)
        first.kill()  # node loss: the whole worker, SIGKILL
        taken = wait_for(
            lambda: len((s := state(web.url, radio["id"]))["generations"]) == 2 and s, 60,
            what="another worker taking the radio over",
        )
        listener.join(60)
        assert listener.error is None, listener.error
        wait_for(lambda: state(web.url, radio["id"])["elapsed_s"] > taken["elapsed_s"] + 2, 30,
                 what="the new generator on air")
    reason = taken["generations"][1]["reason"]
    assert "took the radio over" in reason and "restarted from epoch 1" in reason
    assert "took the radio over" in spare.log()
    # The listener stayed connected through the takeover and kept getting audio.
    assert decoded_seconds(bytes(listener.data)) > 4.0


def test_stop_is_a_delete_and_ends_the_stream(trained: Trained, radio: dict[str, Any]) -> None:
    with trained.server() as web:
        r = api(web.url, "DELETE", f"/radio/{radio['id']}")
        assert r.status_code == 202, r.text
        wait_for(lambda: state(web.url, radio["id"])["status"] == "cancelled", 30, what="stopped")
        assert api(web.url, "DELETE", f"/radio/{radio['id']}").status_code == 202  # idempotent
        r = api(web.url, "GET", f"/radio/{radio['id']}/stream")
        assert r.status_code == 409 and "cancelled" in r.json()["detail"]
        # What the buffer holds can still be kept after the stop.
        kept = api(web.url, "POST", f"/radio/{radio['id']}/keep", json={"seconds": 2})
        assert kept.status_code == 201, kept.text


def test_a_radio_primed_from_a_moment_of_the_album(trained: Trained, radio: dict[str, Any]) -> None:
    """After the first radio stopped (the worker is free again): one that first reads two
    seconds of a source track, then goes on air from there."""
    with trained.server() as web:
        sources = api(web.url, "GET", f"/projects/{trained.project_id}/sources").json()["data"]
        prime = {"source_id": sources[0]["id"], "start_s": 3.0, "seconds": 2.0}
        r = api(web.url, "POST", f"/runs/{trained.run_id}/radio", json={"prime": prime, "seed": 3})
        assert r.status_code == 202, r.text
        primed = r.json()
        assert primed["id"] != radio["id"]
        job = api(web.url, "GET", f"/jobs/{primed['id']}").json()
        assert job["payload"]["prime"]["source_id"] == sources[0]["id"]
        wait_for(lambda: state(web.url, primed["id"])["elapsed_s"] > 1.0, 60, what="primed on air")
        listener = Listener(web.port, primed["id"], 2.0)
        listener.run()
        assert listener.error is None and decoded_seconds(bytes(listener.data)) > 1.0
        assert api(web.url, "DELETE", f"/radio/{primed['id']}").status_code == 202
        wait_for(lambda: state(web.url, primed["id"])["status"] == "cancelled", 30, what="stop")
        # With the gpu worker free again, the kept clips got analysed like any new clip.
        wait_for(lambda: api(web.url, "GET", f"/clips/{radio['kept']}").json()["analysis_version"],
                 90, what="the kept clip analysed", interval=0.5)
