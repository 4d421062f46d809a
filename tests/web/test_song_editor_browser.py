"""The song editor's commands, undo/redo, saving and preview in headless Chromium, through the
real page (static/js/track-*.js): every command is one undo step, undo walks back through each
document exactly and redo forward again, autosave stores what the page shows, save errors land on
the item they name, and the preview transport starts, moves its playhead and stops.
Skips only when /usr/bin/chromium is absent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import Studio, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ITEM_DEFAULTS = {"gain_db": 0.0, "fade_in_s": 0.0, "fade_out_s": 0.0, "repeat": 1, "lane": 0,
                 "offset_s": 0.0, "pan": None, "crossfade_s": None}


def api(studio: Studio, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, studio.base_url + "/api/v1" + path, timeout=30, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


def doc(page: Any) -> dict[str, Any]:
    return page.evaluate("() => window.studio.doc")


def items(page: Any) -> list[dict[str, Any]]:
    return doc(page)["edl"]["items"]


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    """An item with the server's defaults filled in, rounded (the server stores floats as given)."""
    out = {**ITEM_DEFAULTS, **item}
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in out.items()}


def set_field(page: Any, selector: str, value: str) -> None:
    """Type into a field and leave it (Tab), which commits it with a change event."""
    field = page.locator(selector)
    field.fill(value)
    field.press("Tab")


def off_fields(page: Any) -> None:
    """Click somewhere inert so the studio keys apply again (they are ignored while typing)."""
    page.click("#items-title")


def wait_saved(page: Any) -> int:
    page.wait_for_function("() => !window.studio.dirty && /^saved/.test(document.querySelector('#save-status').textContent)")
    return int(page.evaluate("window.studio.revision"))


def selected_row(page: Any) -> int:
    return int(page.locator("#items li.selected").get_attribute("data-index"))


def test_song_editor_commands_undo_redo_and_preview(page: Any, live: Studio) -> None:
    a, b = live.seeded.clip_ids[1][0], live.seeded.clip_ids[2][0]
    api(live, "PATCH", f"/clips/{b}", json={"kept": True})  # kept clips are listed to add
    edl = {"items": [{"clip_id": a, "start_s": 0.0, "end_s": 1.0}, {"clip_id": a, "start_s": 1.0, "end_s": 2.0}]}
    track = api(live, "POST", f"/projects/{live.seeded.project_id}/tracks", json={"name": "Steps", "edl": edl})
    tid = track["id"]
    calls: list[tuple[str, str]] = []
    page.on("request", lambda r: calls.append((r.method, r.url.split("?")[0].removeprefix(live.base_url)))
            if "/api/v1/tracks/" in r.url else None)
    page.goto(f"/tracks/{tid}")
    page.wait_for_selector(".block")
    assert page.locator(".block").count() == 2
    assert page.is_disabled("#undo") and page.is_disabled("#redo")
    assert selected_row(page) == 0 and page.text_content("#item-title").startswith("Item 1 · ")

    # Selection with the arrow keys (not an edit: nothing to undo).
    off_fields(page)
    page.keyboard.press("ArrowDown")
    assert selected_row(page) == 1 and page.text_content("#item-title").startswith("Item 2 · ")
    page.keyboard.press("ArrowUp")
    assert selected_row(page) == 0
    assert page.is_disabled("#undo")

    history = [doc(page)]

    def step() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The document after one command: changed, and one more undo step (none to redo)."""
        now = doc(page)
        assert now != history[-1], "the command changed nothing"
        history.append(now)
        assert not page.is_disabled("#undo") and page.is_disabled("#redo")
        return now["edl"]["items"], now

    # Inspector fields of item 1: trim, gain, fades, repeat.
    set_field(page, '[data-field="start_s"]', "0.25")
    it, d = step()
    assert it[0]["start_s"] == 0.25
    set_field(page, '[data-field="end_s"]', "0.9")
    it, d = step()
    assert it[0]["end_s"] == 0.9
    set_field(page, '[data-field="gain_db"]', "-3")
    it, d = step()
    assert it[0]["gain_db"] == -3
    set_field(page, '[data-field="fade_in_ms"]', "20")
    it, d = step()
    assert it[0]["fade_in_s"] == pytest.approx(0.02)
    set_field(page, '[data-field="fade_out_ms"]', "30")
    it, d = step()
    assert it[0]["fade_out_s"] == pytest.approx(0.03)
    set_field(page, '[data-field="repeat"]', "2")
    it, d = step()
    assert it[0]["repeat"] == 2

    # Keys and buttons: D repeats once more, Alt+→ / Alt+Shift+← and the ▶ button nudge.
    off_fields(page)
    page.keyboard.press("d")
    it, d = step()
    assert it[0]["repeat"] == 3 and "×3" in page.locator(".block").nth(0).text_content()
    page.keyboard.press("Alt+ArrowRight")
    it, d = step()
    assert it[0]["offset_s"] == pytest.approx(0.010)
    page.keyboard.press("Alt+Shift+ArrowLeft")
    it, d = step()
    assert it[0]["offset_s"] == pytest.approx(0.009)
    page.click("#nudge-right")
    it, d = step()
    assert it[0]["offset_s"] == pytest.approx(0.019)
    assert page.input_value('[data-field="offset_ms"]') == "19"

    # Shift+D duplicates the item after itself and selects the copy.
    off_fields(page)
    page.keyboard.press("Shift+D")
    it, d = step()
    assert len(it) == 3 and it[1] == it[0]
    assert selected_row(page) == 1 and page.locator("#items li").count() == 3

    # The copy goes to lane 2 (lanes become hard left / hard right), panned a little back.
    page.select_option('[data-field="lane"]', "1")
    it, d = step()
    assert it[1]["lane"] == 1 and d["edl"]["lanes"]["0"]["pan"] == -1 and d["edl"]["lanes"]["1"]["pan"] == 1
    page.wait_for_selector('[data-lane-body="1"] .block')
    set_field(page, '[data-field="pan"]', "0.5")
    it, d = step()
    assert it[1]["pan"] == 0.5

    # Lane and join settings, and the song's name.
    set_field(page, '[data-lane-field="offset_ms"][data-lane="1"]', "40")
    it, d = step()
    assert d["edl"]["lanes"]["1"]["offset_s"] == pytest.approx(0.04)
    assert page.text_content('[data-lane-summary="1"]') == "pan R · +40 ms"
    set_field(page, "#crossfade-ms", "25")
    it, d = step()
    assert d["edl"]["crossfade_s"] == pytest.approx(0.025)
    set_field(page, "#repeat-crossfade-ms", "5")
    it, d = step()
    assert d["edl"]["repeat_crossfade_s"] == pytest.approx(0.005)
    set_field(page, "#track-name", "Steps, renamed")
    it, d = step()
    assert d["name"] == "Steps, renamed"

    # Drag the third row of the list before the first: it moves there and is selected.
    third = it[2]
    page.locator("#items li").nth(2).drag_to(page.locator("#items li").nth(0))
    it, d = step()
    assert it[0] == third and len(it) == 3
    assert selected_row(page) == 0

    # Delete removes it; +1 in the clip list adds the whole of a clip at the end of lane 1, and
    # Remove takes it out again (the selection stays in range).
    off_fields(page)
    page.keyboard.press("Delete")
    it, d = step()
    assert len(it) == 2 and third not in it
    page.click(f'[data-add-clip="{b}"][data-lane="0"]')
    it, d = step()
    assert (it[2]["clip_id"], it[2]["lane"], it[2]["start_s"]) == (b, 0, 0)
    assert it[2]["end_s"] == pytest.approx(4.0)
    assert selected_row(page) == 2
    page.click("#remove")
    it, d = step()
    assert len(it) == 2 and selected_row(page) == 1
    page.click(f'[data-add-clip="{b}"][data-lane="0"]')
    it, d = step()
    assert len(it) == 3

    # Auto-align asks the server about the current (unsaved) list and applies its lane settings.
    expected = api(live, "POST", f"/tracks/{tid}/align", json={"lane_a": 0, "lane_b": 1, "edl": d["edl"]})
    page.click("#align")
    page.wait_for_function("() => /lined up|not aligned/.test(document.querySelector('#align-status').textContent)")
    shift_ms = round(expected["shift_s"] * 1000)
    assert page.text_content("#align-status") == f"lane 2 was {shift_ms} ms behind lane 1: lined up"
    it, d = step()
    assert d["edl"]["lanes"] == {**d["edl"]["lanes"], **expected["lanes"]}
    screenshot(page, "song-01-edited")

    # Undo walks back through every document exactly (keys and the button), then redo forward.
    off_fields(page)
    for k in range(len(history) - 1, 0, -1):
        if k % 2:
            page.keyboard.press("Control+z")
        else:
            page.click("#undo")
        assert doc(page) == history[k - 1], f"undo to step {k - 1}"
        assert page.locator("#items li").count() == len(history[k - 1]["edl"]["items"])
        assert page.locator("#items li.selected").count() == 1  # the selection stays in range
        assert not page.is_disabled("#redo")
    assert page.is_disabled("#undo")
    page.keyboard.press("Control+z")  # nothing left to undo
    assert doc(page) == history[0]
    assert "0.00–1.00 s" in page.locator("#items li").nth(0).text_content()
    assert "×" not in page.locator(".block").nth(0).text_content()
    redo_by = [lambda: page.keyboard.press("Control+Shift+z"), lambda: page.keyboard.press("Control+y"),
               lambda: page.click("#redo")]
    for k in range(1, len(history)):
        redo_by[k % 3]()
        assert doc(page) == history[k], f"redo to step {k}"
    assert page.is_disabled("#redo")
    assert "×3" in page.locator(".block").nth(0).text_content()
    # An edit made after an undo drops the steps there were to redo.
    page.keyboard.press("Control+z")
    assert doc(page) == history[-2] and not page.is_disabled("#redo")
    off_fields(page)
    page.keyboard.press("Alt+ArrowRight")
    nudged = doc(page)
    assert page.is_disabled("#redo") and nudged != history[-2]
    assert sum(i.get("offset_s") or 0 for i in nudged["edl"]["items"]) == pytest.approx(
        sum(i.get("offset_s") or 0 for i in history[-2]["edl"]["items"]) + 0.01)
    page.keyboard.press("Control+z")
    assert doc(page) == history[-2]

    # Ctrl+S saves now; the server then holds exactly what the page shows, and the mono check
    # (both lanes in use) follows a clean save.
    page.keyboard.press("Control+s")
    revision = wait_saved(page)
    saved = api(live, "GET", f"/tracks/{tid}")
    final = doc(page)
    assert saved["revision"] == revision and saved["name"] == "Steps, renamed"
    assert [comparable(i) for i in saved["edl"]["items"]] == [comparable(i) for i in final["edl"]["items"]]
    assert saved["edl"]["lanes"] == final["edl"]["lanes"]
    assert saved["edl"]["crossfade_s"] == pytest.approx(0.025)
    page.wait_for_function(
        "id => performance.getEntriesByType('resource').some((e) => e.name.includes(`/api/v1/tracks/${id}/mono-check`))",
        arg=tid)
    assert set(calls) == {("PUT", f"/api/v1/tracks/{tid}"), ("POST", f"/api/v1/tracks/{tid}/align"),
                          ("GET", f"/api/v1/tracks/{tid}/mono-check")}, calls

    # Preview: Space plays the song in the browser, the playhead moves, Space stops it.
    off_fields(page)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#preview').textContent === '■ Stop'")
    page.wait_for_function("""() => {
      const c = document.querySelector('#cursor'), body = document.querySelector('[data-lane-body="0"]');
      return c.style.display === 'block' && parseFloat(c.style.left) > body.offsetLeft + 20;
    }""")
    page.keyboard.press("Space")
    assert page.text_content("#preview") == "▶ Preview"
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("document.querySelector('#cursor').style.display") == "none"  # it stopped

    assert not page.errors, page.errors  # type: ignore[attr-defined]

    # A save the server refuses names an item: the page selects it and says why, then undo mends it.
    held: list[Any] = []
    page.route(f"**/api/v1/tracks/{tid}", lambda route: held.append(route) if route.request.method == "PUT" else route.continue_())
    page.locator("#items li").nth(1).click()
    set_field(page, '[data-field="end_s"]', "9")
    page.wait_for_function("() => document.querySelector('#save-status').textContent === 'saving…'")
    page.locator("#items li").nth(0).click()  # the selection moves on while the save is out
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.wait_for_function("() => document.querySelector('#save-status').textContent.startsWith('not saved: items[1].end_s: ')")
    assert selected_row(page) == 1
    assert page.get_attribute("#save-status", "class") == "status error"
    page.unroute(f"**/api/v1/tracks/{tid}")
    off_fields(page)
    page.keyboard.press("Control+z")
    assert wait_saved(page) == revision + 1
    assert api(live, "GET", f"/tracks/{tid}")["edl"]["items"][1]["end_s"] == final["edl"]["items"][1]["end_s"]

    # Edited elsewhere meanwhile: the next save is refused, and the page says so.
    other = api(live, "GET", f"/tracks/{tid}")
    api(live, "PUT", f"/tracks/{tid}", json={"name": "Elsewhere", "edl": other["edl"], "base_revision": other["revision"]})
    page.keyboard.press("Alt+ArrowRight")
    page.wait_for_function("() => document.querySelector('#save-status').textContent === 'changed elsewhere: reload to continue'")
    screenshot(page, "song-02-conflict")
    refused = [e for e in page.errors if "status of 422" not in e and "status of 409" not in e]  # type: ignore[attr-defined]
    assert not refused, refused
