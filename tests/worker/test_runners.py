"""The runners in-process (real engine, tiny model): a rerun fills in exactly what is missing and
regenerates identical clips; more clips from a checkpoint respect other jobs' reservations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import soundfile as sf
from sqlalchemy import delete, select, update

from app import jobs
from app.catalog import Checkpoint, Clip, Job, Run
from app.contract.kinds import AUTO_ALBUM, GENERATE, RUN
from app.contract.payloads import AutoAlbumPayload, GeneratePayload
from app.queue import RecordingQueue
from app.received import ReceivedFile
from app.schemas.runs import GenerateIn, RunConfigIn
from app.services import projects, runs, sources
from app.services.radio_speed import estimate_from_clips
from model.synth import demo_album
from tests.worker.conftest import Recorded
from tests.worker.harness import tiny_run
from worker import runners
from worker.lease import execute
from worker.runtime import Runtime

NODE = "runner@host"


def trained_run(rt: Runtime, epochs: int = 3) -> tuple[int, int]:
    """A project with a synthesized album and a finished tiny run; returns (project, run)."""
    rt.settings.train_threads = 1
    queue = RecordingQueue()
    with rt.sessions() as s:
        project = projects.create_project(s, name="P", artist="A")
        files = []
        for name, audio in demo_album(8.0, 16000, 2, seed=1):
            path = rt.storage.temp_path(".wav")
            sf.write(str(path), audio, 16000, subtype="PCM_16")
            files.append(ReceivedFile("files", f"{name}.wav", path, path.stat().st_size))
        sources.add_sources(s, rt.storage, project.id, files)
        run = runs.create_run(s, queue, project.id, RunConfigIn(**tiny_run(epochs, segments=4)))
        job_id = run.job_id
    assert job_id is not None
    result = execute(rt, NODE, job_id, RUN, runners.run_training)
    assert result is not None and result["clips"] == 2 * epochs
    return project.id, run.id


def clip_rows(rt: Runtime, run_id: int) -> dict[tuple[int, int], Clip]:
    with rt.reading() as s:
        return {(c.epoch, c.index): c for c in s.scalars(select(Clip).where(Clip.run_id == run_id))}


def test_a_rerun_fills_in_missing_rows_and_clips_identically_and_nothing_else(
    recorded: Recorded,
) -> None:
    rt = recorded.rt
    project_id, run_id = trained_run(rt)
    before = clip_rows(rt, run_id)
    lost = before[(1, 1)]
    lost_path = rt.storage.path(lost.audio_path)
    lost_audio = lost_path.read_bytes()
    kept_mtime = rt.storage.path(before[(2, 0)].audio_path).stat().st_mtime_ns

    # given: a clip whose row and file are gone (killed between file and row), and an epoch
    # whose checkpoint file exists but whose row was never written (killed right after saving)
    with rt.session() as s:
        s.execute(delete(Clip).where(Clip.id == lost.id))
        s.execute(delete(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.epoch == 3))
        s.execute(update(Run).where(Run.id == run_id).values(status="failed"))
    lost_path.unlink()
    with rt.sessions() as s:
        run = runs.resume_run(s, RecordingQueue(), run_id)
        job_id = run.job_id
    assert job_id is not None

    # when the run's job runs again
    assert execute(rt, NODE, job_id, RUN, runners.run_training) is not None

    # then exactly the missing rows are back, the lost clip is the very same audio...
    after = clip_rows(rt, run_id)
    assert sorted(after) == sorted(before)
    assert lost_path.read_bytes() == lost_audio
    # ...and nothing that existed was made again
    for key in set(before) - {(1, 1), (3, 0), (3, 1)}:
        assert after[key].id == before[key].id
    assert rt.storage.path(before[(2, 0)].audio_path).stat().st_mtime_ns == kept_mtime
    with rt.reading() as s:
        epochs = s.scalars(select(Checkpoint.epoch).where(Checkpoint.run_id == run_id)).all()
        assert sorted(epochs) == [1, 2, 3]
        run_row = s.get(Run, run_id)
        assert run_row is not None and [m["epoch"] for m in run_row.metrics] == [1, 2, 3]


def test_more_clips_start_after_the_run_and_other_jobs_reservations(recorded: Recorded) -> None:
    rt = recorded.rt
    project_id, run_id = trained_run(rt, epochs=1)
    with rt.reading() as s:
        checkpoint_id = s.scalar(select(Checkpoint.id).where(Checkpoint.run_id == run_id))
    assert checkpoint_id is not None

    def request(n: int, seed: int) -> int:
        with rt.sessions() as s:
            job = runs.generate_clips(s, RecordingQueue(), checkpoint_id, GenerateIn(n=n, seconds=0.25, seed=seed))
            return job.id

    # another job has reserved indices 2..4 and is still running somewhere
    other = request(3, 1)
    with rt.sessions() as s:
        jobs.claim(s, other, "elsewhere/1")
        reserved = replace(jobs.payload_of(GENERATE, s.get(Job, other)), first_index=2)  # type: ignore[arg-type]
        jobs.set_payload(s, other, reserved)
        s.commit()

    mine = request(2, 2)
    result = execute(rt, NODE, mine, GENERATE, runners.generate_more)
    assert result is not None and result["first_index"] == 5 and len(result["clip_ids"]) == 2
    indices = sorted(i for (_, i) in clip_rows(rt, run_id))
    assert indices == [0, 1, 5, 6]

    # a redelivered copy of the same job makes nothing new
    with rt.session() as s:
        s.execute(update(Job).where(Job.id == mine).values(status="queued"))
    again = execute(rt, NODE, mine, GENERATE, runners.generate_more)
    assert again is not None and again["clip_ids"] == result["clip_ids"]


def test_a_deleted_checkpoint_fails_the_generate_job_readably(recorded: Recorded, tmp_path: Path) -> None:
    rt = recorded.rt
    _, run_id = trained_run(rt, epochs=1)
    with rt.sessions() as s:
        checkpoint = s.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id)).one()
        job = runs.generate_clips(s, RecordingQueue(), checkpoint.id, GenerateIn(n=1, seconds=0.25, seed=1))
    rt.storage.path(checkpoint.path).unlink()
    with pytest.raises(Exception, match="missing"):
        execute(rt, NODE, job.id, GENERATE, runners.generate_more)
    with rt.reading() as s:
        row = s.get(Job, job.id)
        assert row is not None and row.status == "failed"
        assert row.error == "the checkpoint file of epoch 1 is missing from media storage"


def test_generated_auto_albums_reserve_clip_indices_too(recorded: Recorded) -> None:
    """An auto album in mode=generate makes its clips through generate_more; a generate job on
    the same checkpoint must start after its reservation, not on top of it."""
    rt = recorded.rt
    project_id, run_id = trained_run(rt, epochs=1)
    with rt.reading() as s:
        checkpoint_id = s.scalar(select(Checkpoint.id).where(Checkpoint.run_id == run_id))
    with rt.sessions() as s:
        generating = GeneratePayload(
            checkpoint_id=checkpoint_id, run_id=run_id, n=4, seconds=0.25, temperature=1.0, seed=5,
            first_index=2,
        )
        album = AutoAlbumPayload(
            project_id=project_id, mode="generate", seed=5, run_id=run_id, epoch="last",
            seconds=0.25, tracks=4, title=None, artist="a", gap_s=2.0, formats=("flac",),
            generate=generating,
        )
        album_job = jobs.create_job(s, AUTO_ALBUM, album, project_id=project_id)
        album_job.status = "running"
        s.commit()
        job = runs.generate_clips(s, RecordingQueue(), checkpoint_id, GenerateIn(n=1, seconds=0.25, seed=3))
        mine = job.id
    result = execute(rt, NODE, mine, GENERATE, runners.generate_more)
    assert result is not None and result["first_index"] == 6


def test_each_epochs_clips_record_how_fast_they_were_made(recorded: Recorded) -> None:
    rt = recorded.rt
    _, run_id = trained_run(rt, epochs=2)
    with rt.reading() as s:
        run = s.get(Run, run_id)
        assert run is not None
        metrics = run.metrics
    streams = min(2, rt.settings.generate_batch)
    for entry in metrics:  # 2 clips of 0.5 s per epoch (tiny_run), made `streams` at a time
        gen = entry["generation"]
        assert gen["audio_s"] == pytest.approx(2 * 0.5) and gen["streams"] == streams
        assert gen["wall_s"] > 0
    # the radio's start form reads the latest epoch's figures
    estimate = estimate_from_clips(metrics)
    assert estimate is not None and estimate.epoch == 2
    last = metrics[-1]["generation"]
    assert estimate.total_rtf == pytest.approx(last["audio_s"] / last["wall_s"])
    assert estimate.per_stream_rtf == pytest.approx(estimate.total_rtf / streams)
