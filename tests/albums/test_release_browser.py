"""The album editor's release metadata in headless Chromium: the Release panel and a track's
details row (composer, ISRC, credits) are saved through the API, normalised, shown again after
a reload; a bad ISRC is refused with the server's reason; the check lists the warnings; the
export form asks for the continuous edition. Skips only when /usr/bin/chromium is absent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.albums.test_album_browser import call, page, project, site  # noqa: F401 - fixtures
from tests.web.conftest import chromium, screenshot  # noqa: F401 - fixture reused

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def saved(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('save-status').textContent === 'saved'")


def test_release_metadata_in_the_album_editor(
    page: Any, site: dict[str, Any], project: dict[str, Any]  # noqa: F811
) -> None:
    album = call(site, "POST", f"/projects/{project['id']}/albums", json={
        "title": "Bot Prownies", "artist": "Dadabots",
        "tracks": [{"track_id": s, "title": f"T{i}"} for i, s in enumerate(project["songs"])],
    })
    page.goto(f"/albums/{album['id']}")
    page.fill("#release-album_artist", "Dadabots & NOFX")
    page.fill("#release-release_date", "2026-04-01")
    page.fill("#release-genre", "Punk")
    page.fill("#release-label", "Fat Wreck Bots")
    page.fill("#release-upc", "0360-0029-1452")
    page.fill("#release-disc_number", "1")
    page.fill("#release-disc_total", "1")
    page.fill("#release-comment", "SampleRNN, run 1")
    page.click("[data-details='0']")
    meta = page.locator("[data-meta='0']")
    meta.locator("[data-field='composer']").fill("Fat Mike; SampleRNN")
    meta.locator("[data-field='isrc']").fill("us-fat-26-00001")
    page.click("[data-add-credit='0']")
    meta.locator("select").first.select_option("mixer")
    meta.locator(".credit input").first.fill("CJ Carr")
    screenshot(page, "albums-release-metadata")
    page.click("#save-album")
    saved(page)

    got = call(site, "GET", f"/albums/{album['id']}")
    assert (got["album_artist"], got["release_date"], got["genre"], got["label"]) == (
        "Dadabots & NOFX", "2026-04-01", "Punk", "Fat Wreck Bots"
    )
    assert (got["upc"], got["disc_number"], got["disc_total"], got["comment"]) == (
        "036000291452", 1, 1, "SampleRNN, run 1"
    )
    first = got["tracks"][0]
    assert (first["composer"], first["isrc"]) == ("Fat Mike; SampleRNN", "USFAT2600001")
    assert first["credits"] == [{"role": "mixer", "name": "CJ Carr"}]
    assert got["tracks"][1]["credits"] == [] and got["tracks"][1]["isrc"] == ""

    # After a reload the page shows what was stored (the ISRC as 12 characters).
    page.reload()
    assert page.input_value("#release-upc") == "036000291452"
    page.click("[data-details='0']")
    assert page.input_value("[data-meta='0'] [data-field='isrc']") == "USFAT2600001"
    assert page.input_value("[data-meta='0'] .credit input") == "CJ Carr"

    # A bad ISRC is refused with the server's reason and nothing is stored.
    page.fill("[data-meta='0'] [data-field='isrc']", "US-FAT-26-1")
    page.click("#save-album")
    page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('not saved')")
    assert "not an ISRC" in page.text_content("#save-status")
    assert call(site, "GET", f"/albums/{album['id']}")["tracks"][0]["isrc"] == "USFAT2600001"
    page.fill("[data-meta='0'] [data-field='isrc']", "USFAT2600001")

    # The check names what is still missing: track 2's composer and ISRC, and the cover.
    page.click("#check-album")
    page.wait_for_selector("#problems li.warning")
    warnings = page.locator("#problems li.warning").all_text_contents()
    assert warnings == [
        "Track 2 has no composer: distributors need the songwriters for publishing royalties.",
        "Track 2 has no ISRC: the distributor will assign one per recording.",
    ]
    assert "The album has no cover: pick one." in page.locator("#problems li").all_text_contents()

    # The export form asks for the continuous edition (album.flac + album.cue).
    page.check("#export-form input[name=continuous]")
    page.click("#export-form button[type=submit]")
    page.wait_for_selector("#exports li")
    exports = call(site, "GET", f"/albums/{album['id']}/exports")["data"]
    assert exports[0]["formats"] == ["flac", "continuous"]
    screenshot(page, "albums-release-check")
    # The only console error is the browser's note of the refused save above.
    assert [e for e in page.errors if "422" not in e] == []  # type: ignore[attr-defined]
    assert len(page.errors) == 1  # type: ignore[attr-defined]
