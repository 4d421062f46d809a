"""Catalog helpers on SQLite and PostgreSQL: natural keys, cascades."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Marker, Project, SourceTrack, insert_ignore
from tests.app.factories import add_clips, make_project, make_run_with_checkpoints


def test_insert_ignore_makes_a_second_clip_a_no_op(session: Session) -> None:
    project = make_project(session)
    run = make_run_with_checkpoints(session, project.id, 1)
    ck = run.checkpoints[0]
    values = dict(
        checkpoint_id=ck.id, project_id=project.id, run_id=run.id, epoch=1, index=0, seed=5,
        temperature=1.0, sample_rate=16000, duration_s=2.0, audio_path="projects/1/clips/a.wav",
    )
    first = insert_ignore(session, Clip, values, key=("checkpoint_id", "index"))
    second = insert_ignore(session, Clip, {**values, "seed": 6}, key=("checkpoint_id", "index"))
    session.commit()
    assert isinstance(first, int) and second is None
    clip = session.get(Clip, first)
    assert clip is not None and clip.seed == 5 and clip.tags == [] and clip.created_at is not None
    again = insert_ignore(session, Checkpoint, {"run_id": run.id, "epoch": 1, "step": 9, "path": "p"},
                          key=("run_id", "epoch"))
    assert again is None


def test_deleting_a_project_cascades_in_the_database(session: Session) -> None:
    project = make_project(session)
    add_clips(session, project.id, 20)
    clip_id = session.scalars(select(Clip.id)).first()
    session.add(Marker(clip_id=clip_id, time_s=1.0))
    session.add(SourceTrack(project_id=project.id, display_name="a.wav", path="k", format="WAV",
                            sample_rate=16000, channels=1, frames=1, duration_s=1.0, size_bytes=1,
                            sha256="0" * 64))
    session.commit()
    session.delete(session.get(Project, project.id))
    session.commit()
    for model in (Clip, Checkpoint, Marker, SourceTrack):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model
