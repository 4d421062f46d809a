"""The run form's model shape fields and the clip browser's search box, without a browser."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.web.runs import shape_overrides
from tests.web.conftest import Studio


def test_shape_fields_become_model_overrides() -> None:
    assert shape_overrides("", "", "", "") == {}
    assert shape_overrides(" 16, 4 ", "lstm", "256", "3") == {
        "frame_sizes": [16, 4], "cell": "lstm", "dim": 256, "n_rnn": 3}
    for bad in (("16,x", "", "", ""), ("", "", "0", ""), ("", "", "", "99"),
                ("1,2,3,4,5", "", "", ""), ("", "", "abc", "")):
        with pytest.raises(ValueError):
            shape_overrides(*bad)


def test_project_page_offers_shape_fields_and_refuses_bad_ones(
    client: TestClient, studio: Studio
) -> None:
    pid = studio.seeded.project_id
    html = client.get(f"/projects/{pid}").text
    for name in ("frame_sizes", "cell", "dim", "n_rnn"):
        assert f'name="{name}"' in html
    assert '"shapes"' in html and '"paper"' in html  # the presets' shapes for the script
    r = client.post(f"/projects/{pid}/runs", data={"preset": "tiny", "frame_sizes": "16,x"})
    assert r.status_code == 422 and "tiers" in r.json()["detail"]
    r = client.post(f"/projects/{pid}/runs", data={"preset": "tiny", "cell": "rnn"})
    assert r.status_code == 422


def test_clip_browser_filters_by_tag_and_notes(client: TestClient, studio: Studio) -> None:
    pid = studio.seeded.project_id
    ids = studio.seeded.clip_ids[1]
    client.patch(f"/api/v1/clips/{ids[0]}", json={"tags": ["gem", "dark"]})
    client.patch(f"/api/v1/clips/{ids[1]}", json={"tags": ["gem"], "notes": "wild Solo"})
    html = client.get(f"/projects/{pid}/clips", params={"tag": "gem, dark"}).text
    assert f'id="clip-{ids[0]}"' in html and f'id="clip-{ids[1]}"' not in html
    html = client.get(f"/projects/{pid}/clips", params={"q": "solo"}).text
    assert f'id="clip-{ids[1]}"' in html and f'id="clip-{ids[0]}"' not in html
    assert 'value="solo"' in html  # the box keeps what was searched
