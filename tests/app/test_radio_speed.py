"""Will the radio keep up? Before any radio of a run was measured, the start form judges from how
fast the run's clips were made (app/services/radio_speed.py), and says so before starting."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.catalog import Run
from app.services.radio_speed import estimate_from_clips
from tests.app.factories import make_project, make_run_with_checkpoints


def timed(epoch: int, audio_s: float, wall_s: float, streams: int) -> dict[str, Any]:
    return {"epoch": epoch, "generation": {"audio_s": audio_s, "wall_s": wall_s,
                                           "streams": streams}}


@pytest.mark.parametrize(
    ("audio_s", "wall_s", "streams", "verdict"),
    [
        (8.0, 2.0, 4, "keeps-up"),  # 1.0x per stream: one stream alone is at least as fast
        (8.0, 4.0, 4, "may-not"),  # 0.5x each, 2x in all: one stream lies in between
        (8.0, 10.0, 4, "cannot"),  # 0.8x in all: one stream is no faster than the batch
        (3.0, 2.0, 1, "keeps-up"),  # a batch of one is the radio's own case
        (1.0, 2.0, 1, "cannot"),
    ],
)
def test_the_clips_bracket_one_stream(
    audio_s: float, wall_s: float, streams: int, verdict: str
) -> None:
    estimate = estimate_from_clips([timed(1, audio_s, wall_s, streams)])
    assert estimate is not None
    assert estimate.total_rtf == pytest.approx(audio_s / wall_s)
    assert estimate.per_stream_rtf == pytest.approx(audio_s / wall_s / streams)
    assert estimate.verdict == verdict


def test_the_latest_timed_epoch_counts_and_untimed_runs_have_no_estimate() -> None:
    metrics = [timed(1, 8.0, 10.0, 4), timed(2, 8.0, 2.0, 4), {"epoch": 3}]
    estimate = estimate_from_clips(metrics)
    assert estimate is not None and (estimate.epoch, estimate.verdict) == (2, "keeps-up")
    assert estimate_from_clips([{"epoch": 1}, {"epoch": 2, "generation": {"audio_s": 1.0,
                                "wall_s": 0.0, "streams": 1}}]) is None
    assert estimate_from_clips([]) is None


def rtf_note(client: TestClient, run_id: int) -> str:
    r = client.get(f"/runs/{run_id}/radio")
    assert r.status_code == 200, r.text
    start = r.text.index('id="rtf-note"')
    return r.text[r.text.rindex("<p", 0, start) : r.text.index("</p>", start)]


@pytest.mark.parametrize(
    ("wall_s", "verdict", "says"),
    [
        (2.0, "keeps-up", "the radio keeps up"),
        (4.0, "may-not", "may not keep up"),
        (10.0, "cannot", "cannot keep up"),
    ],
)
def test_the_start_form_says_before_starting(
    client: TestClient, app_session: Session, wall_s: float, verdict: str, says: str
) -> None:
    project = make_project(app_session)
    run = make_run_with_checkpoints(app_session, project.id, epochs=2)
    metrics = [timed(1, 8.0, 100.0, 4), timed(2, 8.0, wall_s, 4)]
    app_session.execute(update(Run).where(Run.id == run.id).values(metrics=metrics))
    app_session.commit()
    note = rtf_note(client, run.id)
    assert f'data-verdict="{verdict}"' in note and says in note
    assert "epoch 2" in note  # the latest timed epoch, not the slow first one
    assert ('role="alert"' in note) == (verdict != "keeps-up")


def test_without_timed_clips_the_form_says_it_is_not_measured(
    client: TestClient, app_session: Session
) -> None:
    project = make_project(app_session)
    run = make_run_with_checkpoints(app_session, project.id, epochs=1)
    assert "Not measured on this hardware yet" in rtf_note(client, run.id)
