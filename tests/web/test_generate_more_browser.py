"""Generate more from the studio, end to end: a REAL worker process (embedded stack: SQLite, the
filesystem broker) trains one tiny epoch; in headless Chromium the curator asks that epoch for
more clips, follows the job's progress, and plays the new clips; a repeated seed is pointed out;
the run form's model shape fields follow the preset and reach the run's config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.main import create_app
from tests.web.conftest import LiveServer, browser_page, screenshot
from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import get, new_project, start_run, tiny_run, wait_run

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("generate-more")
    yield from running_stack(*make_stack(data_dir, sse_poll_s="0.1"), data_dir)


@pytest.fixture(scope="module")
def trained(stack: Stack) -> tuple[int, int]:
    pid = new_project(stack.client, "Generate more")
    run = start_run(stack.client, pid, tiny_run(1, segments=4, clips=1, seconds=0.3))
    final = wait_run(stack.client, run["id"], ("succeeded", "failed", "cancelled"), 240)
    assert final["status"] == "succeeded", (final["error"], stack.worker.log()[-3000:])
    return pid, int(run["id"])


@pytest.fixture
def studio_page(chromium: Any, stack: Stack) -> Iterator[Any]:
    with LiveServer(create_app(stack.settings)) as server, browser_page(
        chromium, server.url, timeout_ms=60_000
    ) as page:
        yield page


PLAYS = """async (sel) => {
  const audio = document.querySelector(sel);
  await audio.play();
  await new Promise((r) => setTimeout(r, 250));
  return { t: audio.currentTime, paused: audio.paused, duration: audio.duration };
}"""


def generate(page: Any, *, n: int, seconds: float, temperature: float, seed: int | None) -> None:
    page.fill('#generate-more [name="n"]', str(n))
    page.fill('#generate-more [name="seconds"]', str(seconds))
    page.fill('#generate-more [name="temperature"]', str(temperature))
    page.fill('#generate-more [name="seed"]', "" if seed is None else str(seed))
    page.click("#generate-more [data-gm-submit]")


def test_generate_more_from_an_epoch_and_hear_the_new_clips(
    studio_page: Any, stack: Stack, trained: tuple[int, int]
) -> None:
    page = studio_page
    pid, run_id = trained
    before = get(stack.client, f"/projects/{pid}/clips?run={run_id}")["data"]

    page.goto(f"/runs/{run_id}")
    page.click('tr[data-epoch="1"] [data-generate]')
    page.wait_for_selector("#generate-more[open]")
    generate(page, n=2, seconds=0.3, temperature=0, seed=None)  # greedy, a fresh seed
    page.wait_for_selector("#generate-more [data-gm-progress]:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('#generate-more .gm-clip').length === 2")
    status = page.text_content("#generate-more [data-gm-status]")
    assert "succeeded" in status and "2 new clips" in status
    new_ids = [int(x) for x in page.eval_on_selector_all(
        "#generate-more .gm-clip", "els => els.map(e => e.dataset.clipId)")]
    assert not set(new_ids) & {c["id"] for c in before}
    for clip_id in new_ids:
        clip = get(stack.client, f"/clips/{clip_id}")
        assert clip["temperature"] == 0 and clip["epoch"] == 1 and clip["duration_s"] > 0
    # They play: the first new clip's audio advances in the browser.
    played = page.evaluate(PLAYS, f'#generate-more .gm-clip[data-clip-id="{new_ids[0]}"] audio')
    assert played["t"] > 0 and played["duration"] == pytest.approx(0.3, abs=0.05)
    screenshot(page, "generate-more-done")

    # A repeated explicit seed is pointed out.
    generate(page, n=1, seconds=0.3, temperature=1, seed=77)
    page.wait_for_function("() => document.querySelectorAll('#generate-more .gm-clip').length === 1")
    assert page.locator("#generate-more [data-gm-warnings]").is_hidden()
    generate(page, n=1, seconds=0.3, temperature=1, seed=77)
    page.wait_for_selector("#generate-more [data-gm-warnings]:not([hidden])")
    assert "seed 77 was already used" in page.text_content("#generate-more [data-gm-warnings]")
    page.wait_for_function("() => document.querySelectorAll('#generate-more .gm-clip').length === 1")
    screenshot(page, "generate-more-seed-warning")

    # From a clip: the clip browser's inspector opens the same dialog for the clip's epoch,
    # with the clip's length and temperature filled in; the new clip appears in the browser.
    page.goto(f"/projects/{pid}/clips?run={run_id}&sort=-created")
    page.wait_for_selector(f"#clip-{max(new_ids) + 2}.selected")
    page.click("[data-i-generate]")
    page.wait_for_selector("#generate-more[open]")
    assert "epoch 1" in page.text_content("#generate-more [data-gm-title]")
    assert float(page.input_value('#generate-more [name="seconds"]')) == pytest.approx(0.3)
    page.click("#generate-more [data-gm-submit]")
    page.wait_for_function("() => document.querySelectorAll('#generate-more .gm-clip').length === 4")
    after = get(stack.client, f"/projects/{pid}/clips?run={run_id}&limit=100")["data"]
    assert len(after) == len(before) + 2 + 1 + 1 + 4
    assert page.errors == []  # type: ignore[attr-defined]


def test_run_form_model_shape_follows_the_preset(
    studio_page: Any, stack: Stack, trained: tuple[int, int]
) -> None:
    page = studio_page
    pid, _ = trained
    page.goto(f"/projects/{pid}")
    form = "#start-run"
    assert page.input_value(f'{form} [name="dim"]') == "128"  # tiny, the first preset
    page.select_option(f'{form} [name="preset"]', "paper")
    assert page.input_value(f'{form} [name="dim"]') == "1024"
    assert page.input_value(f'{form} [name="n_rnn"]') == "5"
    assert page.input_value(f'{form} [name="cell"]') == "lstm"
    page.select_option(f'{form} [name="preset"]', "tiny")
    page.fill(f'{form} [name="frame_sizes"]', "16,4")
    assert page.text_content(f"{form} [data-tiers]") == "3 tiers"
    page.fill(f'{form} [name="dim"]', "24")
    page.fill(f'{form} [name="epochs"]', "1")
    page.fill(f'{form} [name="clips_per_epoch"]', "0")
    page.select_option(f'{form} [name="cell"]', "lstm")
    page.click(f'{form} button[type="submit"]')
    page.wait_for_url("**/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])
    model = get(stack.client, f"/runs/{run_id}")["config"]["model"]
    assert (model["frame_sizes"], model["dim"], model["cell"], model["n_rnn"]) == ([16, 4], 24, "lstm", 1)
    stack.client.post(f"/api/v1/runs/{run_id}/cancel")
    wait_run(stack.client, run_id, ("succeeded", "failed", "cancelled"), 120)
