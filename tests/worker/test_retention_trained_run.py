"""Retention on the folder a real (tiny) training run wrote: its checkpoint files are pruned by
the retention job, the newest still loads and the run resumes from it, clips stay, and the
usage figures match `du` before and after."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select, update

from app.catalog import Checkpoint, Clip
from app.contract.kinds import RETENTION, RUN
from app.queue import RecordingQueue
from app.schemas.usage import RetentionIn
from app.services import retention, runs, usage
from model.train import load_checkpoint
from tests.worker.conftest import Recorded
from tests.worker.test_runners import NODE, trained_run
from worker import runners
from worker.lease import execute
from worker.retention_runner import run_retention


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-s", "-B1", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[0])


def test_the_retention_job_prunes_a_trained_run_and_it_still_resumes(recorded: Recorded) -> None:
    rt = recorded.rt
    project_id, run_id = trained_run(rt, epochs=4)
    folder = rt.storage.root / "projects" / str(project_id) / "runs" / str(run_id)
    with rt.sessions() as s:
        rows = s.execute(select(Checkpoint.epoch, Checkpoint.path).where(Checkpoint.run_id == run_id))
        keys = {int(epoch): str(key) for epoch, key in rows}
        first_clip = s.scalar(select(Clip.id).where(Clip.run_id == run_id, Clip.epoch == 1))
        s.execute(update(Clip).where(Clip.id == first_clip).values(kept=True))
        s.commit()
        before = usage.run_usage(s, rt.storage, run_id)
    assert sorted(keys) == [1, 2, 3, 4]
    assert before.disk_bytes == _du(folder)
    assert before.files["checkpoints"] >= 4 and before.files["clips"] == 16  # WAV + peaks

    with rt.sessions() as s:
        job = retention.request_retention(s, RecordingQueue(), run_id, RetentionIn(keep_last=2))
        job_id = job.id
    result = execute(rt, NODE, job_id, RETENTION, run_retention)
    assert result is not None and result["removed_epochs"] == [2]  # 1 has a kept clip; 3, 4 newest
    gone = {e for e, k in keys.items() if not rt.storage.path(k).exists()}
    assert gone == {2}
    with rt.reading() as s:
        after = usage.run_usage(s, rt.storage, run_id)
        clip_files = list(s.scalars(select(Clip.audio_path).where(Clip.run_id == run_id)))
    assert after.disk_bytes == _du(folder)
    assert after.bytes["checkpoints"] == before.bytes["checkpoints"] - result["freed_bytes"]
    assert len(clip_files) == 8 and all(rt.storage.path(k).exists() for k in clip_files)
    assert load_checkpoint(rt.storage.path(keys[4])).history  # the newest is intact

    # Resumed, the run continues from epoch 4's file (nothing left to train), retraining nothing:
    # epoch 2's file is not written again.
    with rt.sessions() as s:
        run = runs.get_run(s, run_id)
        run.status = "failed"
        s.commit()
        resumed = runs.resume_run(s, RecordingQueue(), run_id)
        resumed_job = resumed.job_id
    assert resumed_job is not None
    assert execute(rt, NODE, resumed_job, RUN, runners.run_training) is not None
    assert not rt.storage.path(keys[2]).exists()
    with rt.reading() as s:
        assert runs.get_run(s, run_id).status == "succeeded"
