"""In a real browser: export a project from its page, import the archive from the projects page
(a new project), import a checkpoint (its config shown) and see an incompatible one refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.portability.checkpoints import raw_checkpoint, tiny_checkpoint
from tests.web.conftest import (  # noqa: F401  # the browser fixtures
    Studio,
    chromium,
    live,
    page,
    screenshot,
    studio,
)

pytestmark = pytest.mark.browser


def test_export_then_import_a_project_and_a_checkpoint_from_the_studio(
    page: Any, live: Studio, tmp_path: Path
) -> None:
    pid = live.seeded.project_id
    page.goto(f"/projects/{pid}")
    with page.expect_download() as download:
        page.click("#export-project")
    archive = tmp_path / "project.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["project"]["id"] == pid and manifest["counts"]["clips"] > 0

    form = page.locator("#import-checkpoint")
    form.locator("input[type=file]").set_input_files(str(tiny_checkpoint(tmp_path / "c.pt")))
    form.locator("button").click()
    status = form.locator("[data-status]")
    status.locator("a[data-imported]").wait_for()
    assert "epoch 2, 2-tier gru dim 32" in status.inner_text()
    screenshot(page, "portability-checkpoint-imported")
    bad = raw_checkpoint(tmp_path / "future.pt", {"format_version": 7})
    form.locator("input[type=file]").set_input_files(str(bad))
    form.locator("button").click()
    page.wait_for_function("document.querySelector('#import-checkpoint [data-status]')"
                           ".textContent.startsWith('refused')")
    assert "format version 7 is not supported" in status.inner_text()

    page.goto("/projects")
    imp = page.locator("#import-project")
    imp.locator("input[type=file]").set_input_files(str(archive))
    imp.locator("button").click()
    link = imp.locator("a[data-imported]")
    link.wait_for()
    link.click()
    page.wait_for_url(lambda url: f"/projects/{pid}" not in url and "/projects/" in url)
    assert page.locator("h1").inner_text() == "Mutations"  # the seeded project, a new copy
    # the refused checkpoint's 422 is the one failed request the console reports
    assert [e for e in page.errors if "status of 422" not in e] == []  # type: ignore[attr-defined]
