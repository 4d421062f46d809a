"""Priming from the studio, end to end (issue 10 item 4): a REAL worker process (embedded stack)
trains one tiny epoch; in headless Chromium the curator opens a source track from the project
page, drags a region on its waveform, presses "Continue from here", picks the epoch in the
primed generate dialog (which shows the excerpt), submits and follows the job. The clip that
lands records the moment in its provenance, its page says where it continues from, and its
audio is, sample for sample, what the engine makes when it first reads that very excerpt of
the album with the clip's seed (and not what it makes without it). From the clip editor, the
same action primes more clips with a region of the clip."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from app.main import create_app
from model.checkpoint import load_model
from model.generate import generate, write_clips
from model.preprocess import remove_dc, to_mono
from tests.web.conftest import LiveServer, browser_page, screenshot
from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import API, get, new_project, start_run, tiny_run, wait_run
from worker.clips import torch_threads

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]
SR = 16000
CLIP_S = 0.3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("priming")
    yield from running_stack(*make_stack(data_dir, sse_poll_s="0.1"), data_dir)


@pytest.fixture(scope="module")
def trained(stack: Stack) -> dict[str, Any]:
    pid = new_project(stack.client, "Primed in the studio")
    run = start_run(stack.client, pid, tiny_run(2, clips=0))  # trained enough to hear its prime
    final = wait_run(stack.client, run["id"], ("succeeded", "failed", "cancelled"), 240)
    assert final["status"] == "succeeded", (final["error"], stack.worker.log()[-3000:])
    return {"pid": pid, "run": final, "sources": get(stack.client, f"/projects/{pid}/sources")["data"]}


@pytest.fixture
def studio_page(chromium: Any, stack: Stack) -> Iterator[Any]:
    with LiveServer(create_app(stack.settings)) as server, browser_page(
        chromium, server.url, timeout_ms=60_000
    ) as page:
        yield page


def drag_region(page: Any, start: float, end: float) -> dict[str, float]:
    """Drag across the waveform from fraction `start` to `end` of its width, like a curator."""
    box = page.locator("#waveform").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=5)
    page.mouse.up()
    page.wait_for_selector("#continue:not([disabled])")
    region: dict[str, float] = page.evaluate(
        "() => { const r = window.studio.regions.getRegions().find((r) => !r.id.startsWith('marker-'));"
        " return { start: r.start, end: r.end }; }"
    )
    return region


def submit_one(page: Any, *, seed: int) -> int:
    page.fill('#generate-more [name="n"]', "1")
    page.fill('#generate-more [name="seconds"]', str(CLIP_S))
    page.fill('#generate-more [name="temperature"]', "1")
    page.fill('#generate-more [name="seed"]', str(seed))
    page.click("#generate-more [data-gm-submit]")
    page.wait_for_selector("#generate-more [data-gm-progress]:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('#generate-more .gm-clip').length === 1")
    assert "succeeded" in page.text_content("#generate-more [data-gm-status]")
    return int(page.get_attribute("#generate-more .gm-clip", "data-clip-id"))


def audio_of(client: TestClient, url: str) -> np.ndarray:
    audio, sr = sf.read(io.BytesIO(client.get(url).content), dtype="float32", always_2d=True)
    assert sr == SR
    return audio


def engine_clip(model: Any, seed: int, prime: np.ndarray | None, tmp: Path) -> np.ndarray:
    """What the engine makes for `seed` (after reading `prime`), written as the worker writes."""
    path = tmp / f"engine-{seed}-{prime is not None}.wav"
    with torch_threads(1), write_clips([path], SR) as write:
        generate(model, seeds=[seed], seconds=CLIP_S, temperature=1.0, prime=prime,
                 on_block=write, keep=False)
    return sf.read(str(path), dtype="int16")[0]


def test_continue_from_a_moment_of_the_album_makes_its_continuation(
    studio_page: Any, stack: Stack, trained: dict[str, Any], tmp_path: Path
) -> None:
    page, client = studio_page, stack.client
    source = trained["sources"][1]
    checkpoint = trained["run"]["checkpoints"][0]

    page.goto(f"/projects/{trained['pid']}")
    page.click(f'a[data-source="{source["id"]}"]')
    page.wait_for_url(f"**/sources/{source['id']}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 0")
    region = drag_region(page, 0.3, 0.55)
    assert 1.0 < region["end"] - region["start"] < 3.0
    page.click("#continue")
    page.wait_for_selector("#generate-more[open]")
    title = page.text_content("#generate-more [data-gm-title]")
    assert title.startswith(f"Continue from {source['display_name']} at 0:0")
    assert page.locator("#generate-more [data-gm-prime]").is_visible()  # the excerpt, playable
    fragment = page.get_attribute("#generate-more [data-gm-prime-audio]", "src")
    assert fragment.startswith(f"/api/v1/sources/{source['id']}/audio#t=")
    page.select_option("#generate-more [data-gm-epoch]", str(checkpoint["id"]))
    screenshot(page, "priming-dialog")
    clip_id = submit_one(page, seed=21)

    clip = get(client, f"/clips/{clip_id}")
    prime = clip["provenance"]["prime"]
    assert clip["provenance"]["kind"] == "prime" and prime["source_id"] == source["id"]
    assert prime["start_s"] == pytest.approx(region["start"], abs=1e-4)
    assert prime["start_s"] + prime["seconds"] == pytest.approx(region["end"], abs=2e-4)
    assert clip["checkpoint_id"] == checkpoint["id"] and clip["duration_s"] == pytest.approx(CLIP_S)
    assert "continued from" in page.text_content(f'#generate-more .gm-clip[data-clip-id="{clip_id}"]')

    # Its opening follows the excerpt: it is the engine's continuation of those very samples.
    (tmp_path / "ck.pt").write_bytes(client.get(f"{API}/checkpoints/{checkpoint['id']}/file").content)
    model = load_model(tmp_path / "ck.pt", "cpu")
    album = remove_dc(to_mono(audio_of(client, f"{API}/sources/{source['id']}/audio")))
    a = round(prime["start_s"] * SR)
    excerpt = album[a : a + round(prime["seconds"] * SR)]
    made = (audio_of(client, f"{API}/clips/{clip_id}/audio")[:, 0] * 32768).round().astype(np.int16)
    np.testing.assert_array_equal(made, engine_clip(model, clip["seed"], excerpt, tmp_path))
    assert not np.array_equal(made, engine_clip(model, clip["seed"], None, tmp_path))

    # The clip page says where it continues from.
    page.goto(f"/clips/{clip_id}")
    assert "continued from" in page.text_content("[data-primed-from]")
    assert f"{source['display_name']} at 0:0" in page.text_content("[data-primed-from]")
    screenshot(page, "priming-clip")

    # From the clip editor: a region of this clip primes more clips of its epoch (dragged past
    # the shading of its closest album moment, which starts at 0 and spans 0.25 s when analysed).
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 0")
    drag_region(page, 0.86, 0.99)
    page.click("#continue")
    page.wait_for_selector("#generate-more[open]")
    assert page.text_content("#generate-more [data-gm-title]").startswith(f"Continue from clip #{clip_id}")
    assert page.locator("#generate-more [data-gm-epoch-row]").is_hidden()  # the clip's own epoch
    second = get(client, f"/clips/{submit_one(page, seed=22)}")
    assert second["provenance"]["prime"]["clip_id"] == clip_id
    assert second["checkpoint_id"] == checkpoint["id"]

    # The clip browser's inspector says it too, for the newest clip (selected first).
    page.goto(f"/projects/{trained['pid']}/clips?run={trained['run']['id']}&sort=-created")
    page.wait_for_selector(f"#clip-{second['id']}.selected")
    assert f"continued from clip #{clip_id} at 0:00" in page.text_content("#inspector [data-i-quality]")
    assert page.errors == []  # type: ignore[attr-defined]
