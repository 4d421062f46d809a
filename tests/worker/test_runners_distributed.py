"""A gpu worker training one run over several devices (here: 2 CPU ranks over gloo, the worker's
`--gpus 2` on a machine without CUDA), in-process with the real engine: rank 0 is the runner's
own process and writes everything, rank 1 is a child process that writes nothing; killing it
fails the job with a readable reason, and the next attempt resumes from the last checkpoint."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf
from sqlalchemy import func, select

from app.catalog import Checkpoint, Clip, Job, Run
from app.contract.kinds import RUN
from app.queue import RecordingQueue
from app.received import ReceivedFile
from app.schemas.runs import RunConfigIn
from app.services import projects, runs, sources
from model.synth import demo_album
from tests.worker.conftest import Recorded
from tests.worker.harness import tiny_run
from worker import runners
from worker.lease import execute
from worker.runtime import Runtime
from worker.training_group import training_devices

NODE = "ddp@host"


def start_run(rt: Runtime, epochs: int, gpus: int | str) -> tuple[int, int, int]:
    """A project with a synthesized album and a queued run asking for `gpus` ranks."""
    rt.settings.train_threads = 1
    with rt.sessions() as s:
        project = projects.create_project(s, name="P", artist="A")
        files = []
        for name, audio in demo_album(8.0, 16000, 2, seed=1):
            path = rt.storage.temp_path(".wav")
            sf.write(str(path), audio, 16000, subtype="PCM_16")
            files.append(ReceivedFile("files", f"{name}.wav", path, path.stat().st_size))
        sources.add_sources(s, rt.storage, project.id, files)
        config = RunConfigIn(**tiny_run(epochs, segments=4), gpus=gpus)
        run = runs.create_run(s, RecordingQueue(), project.id, config)
        assert run.job_id is not None
        return project.id, run.id, run.job_id


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_devices_are_what_the_run_asks_for_within_what_the_worker_owns() -> None:
    assert training_devices(2, "4") == ["cpu", "cpu"]
    assert training_devices("all", "3") == ["cpu"] * 3
    assert training_devices(8, "2") == ["cpu", "cpu"]
    assert training_devices(1, "all") == ["cpu"]


@pytest.mark.slow
def test_a_run_on_two_ranks_writes_what_a_run_on_one_writes(recorded: Recorded) -> None:
    rt = recorded.rt
    rt.settings.gpus = "2"
    project_id, run_id, job_id = start_run(rt, epochs=2, gpus=2)
    result = execute(rt, NODE, job_id, RUN, runners.run_training)
    assert result is not None and result["clips"] == 4
    folder = rt.storage.path(f"projects/{project_id}/runs/{run_id}")
    assert files_under(folder) == [
        "checkpoints/epoch-0001.pt", "checkpoints/epoch-0002.pt",
        "clips/e0001-0000.peaks.json", "clips/e0001-0000.wav",
        "clips/e0001-0001.peaks.json", "clips/e0001-0001.wav",
        "clips/e0002-0000.peaks.json", "clips/e0002-0000.wav",
        "clips/e0002-0001.peaks.json", "clips/e0002-0001.wav",
    ]
    with rt.reading() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "succeeded"
        assert [m["world_size"] for m in run.metrics] == [2, 2]
        assert run.config["gpus"] == 2
        assert s.scalar(select(func.count()).select_from(Checkpoint)) == 2
        assert s.scalar(select(func.count()).select_from(Clip)) == 4
        # one training job (each epoch's clips also queued their analysis on the cpu queue)
        assert s.scalar(select(func.count()).where(Job.kind == RUN.name)) == 1


def rank_children() -> list[int]:
    """Pids of this process's children running model.rank_main."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"model.rank_main" in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_killing_a_rank_fails_the_job_readably_and_the_next_attempt_resumes(
    recorded: Recorded,
) -> None:
    rt = recorded.rt
    rt.settings.gpus = "2"
    project_id, run_id, job_id = start_run(rt, epochs=3, gpus=2)
    first = rt.storage.path(f"projects/{project_id}/runs/{run_id}/checkpoints/epoch-0001.pt")
    killed: list[int] = []

    def kill_rank_1_after_the_first_epoch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not first.exists():
            time.sleep(0.02)
        for pid in rank_children():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    killer = threading.Thread(target=kill_rank_1_after_the_first_epoch, daemon=True)
    killer.start()
    with pytest.raises(Exception, match="training rank 1 of 2 was killed by SIGKILL"):
        execute(rt, NODE, job_id, RUN, runners.run_training)
    killer.join()
    assert len(killed) == 1
    with rt.reading() as s:
        job, run = s.get(Job, job_id), s.get(Run, run_id)
        assert job is not None and run is not None
        assert job.status == "failed" and run.status == "failed"
        assert job.error is not None and job.error.startswith(
            "training rank 1 of 2 was killed by SIGKILL; the run stops here and resumes from "
            "its last checkpoint")
    kept = first.stat().st_mtime_ns

    with rt.sessions() as s:
        again = runs.resume_run(s, RecordingQueue(), run_id).job_id
    assert again is not None
    result = execute(rt, NODE, again, RUN, runners.run_training)
    assert result is not None and result["epochs"] == 3
    assert first.stat().st_mtime_ns == kept  # epoch 1 was not trained again
    with rt.reading() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "succeeded"
        assert [m["epoch"] for m in run.metrics] == [1, 2, 3]
        assert s.scalar(select(func.count()).select_from(Clip)) == 6
