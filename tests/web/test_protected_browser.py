"""A protected studio in a real browser: sign in with the token, then curate as usual (the
pages' scripts send the CSRF token with every change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import LiveServer, make_studio, screenshot

pytestmark = pytest.mark.browser
TOKEN = "browser-t0ken"


def test_sign_in_then_rate_a_clip(chromium: Any, tmp_path: Path) -> None:
    studio = make_studio(tmp_path, api_token=TOKEN)
    pid, first = studio.seeded.project_id, studio.seeded.clip_ids[2][-1]
    with LiveServer(studio.app) as server:
        context = chromium.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"/projects/{pid}/clips")
        assert "/login" in page.url
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit]")
        page.get_by_role("alert").wait_for()
        page.fill("input[name=token]", TOKEN)
        screenshot(page, "20-sign-in")
        page.click("button[type=submit]")
        page.wait_for_selector(f"#clip-{first}.selected")
        assert page.url.endswith(f"/projects/{pid}/clips")

        page.keyboard.press("3")
        page.wait_for_function(
            f"() => document.querySelector('#clip-{first} [data-stars]').getAttribute('aria-label') === 'Rating 3 of 5'")
        clip = httpx.get(f"{server.url}/api/v1/clips/{first}", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert clip["rating"] == 3
        # The same change without the CSRF token, from the signed-in browser, is refused.
        status = page.evaluate(
            f"""() => fetch('/api/v1/clips/{first}', {{method: 'PATCH', headers: {{'Content-Type': 'application/json'}},
                 body: JSON.stringify({{rating: 1}})}}).then(r => r.status)""")
        assert status == 403
        assert errors == []
        context.close()
