"""The ranks of one data-parallel run on this machine: this process is rank 0, ranks 1..N-1 are
child processes (`python -m model.rank_main`) that train alongside it and write nothing.

This is how a gpu worker trains one run over all its GPUs: the worker's own process keeps its
lease, its heartbeat and its catalog session, and is the only rank that saves checkpoints and
makes clips (in `on_epoch`); the children only hold their shard of every batch. (Several
machines are torchrun's job: `albumbot train --nproc N --nnodes M ...`.)

Failure: a child that dies (OOM killer, a CUDA error, SIGKILL) makes rank 0's next collective
fail (gloo notices the closed socket; for NCCL a monitor thread aborts the group), and leaving
the `with` block raises `RankFailed` naming the rank and how it ended. Children die with rank 0
(PR_SET_PDEATHSIG), so nothing outlives the job. The message carries the last line of the
rank's log (its error, or the faulthandler stack of a native crash); ALBUMBOT_KEEP_RANK_LOGS=1
keeps the whole logs in their temp folder.

    with LocalGroup(job) as dist:
        train(..., dist=dist, on_epoch=...)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import torch
import torch.distributed as torch_dist

from .distributed import COLLECTIVE_TIMEOUT, DistContext, abort, join, leave

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 300.0  # a child's start (importing torch, reading the dataset)
FINISH_WAIT_S = 120.0  # the others' last steps and exit, once rank 0 has finished
STOP_GRACE_S = 5.0
NATIVE_CRASHES = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}
DEATH_WAIT_S = 5.0  # after a failed collective, how long a dying rank has to be seen dead


class RankFailed(RuntimeError):
    """A rank of the group ended before the run did; the message says which and how."""


@dataclass(frozen=True)
class RankJob:
    """What every rank trains: `model.train.train`'s arguments, as JSON for the children."""

    model: dict[str, Any]  # SampleRNNConfig.to_dict()
    train: dict[str, Any]  # TrainConfig.to_dict()
    dataset_dir: str
    out_dir: str  # where the children would write (they never do)
    resume: str | None
    devices: tuple[str, ...]  # one per rank: "cuda:0", "cuda:1"... or "cpu"
    threads: int = 0  # torch CPU threads per child (0: torch's default)
    until_epoch: int | None = None  # this segment's last epoch (None: the run's last)

    @property
    def world_size(self) -> int:
        return len(self.devices)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> RankJob:
        raw = json.loads(Path(path).read_text())
        raw["devices"] = tuple(raw["devices"])
        return cls(**raw)


class LocalGroup:
    """Context manager: start ranks 1..N-1, join them as rank 0, and stop them at the end."""

    def __init__(self, job: RankJob, *, timeout: timedelta = COLLECTIVE_TIMEOUT) -> None:
        if job.world_size < 2:
            raise ValueError(f"a local group needs at least 2 ranks, got {job.world_size}")
        self.job, self.timeout = job, timeout
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.failure: str | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="albumbot-ranks-"))
        self._store: Any = None
        self._ctx: DistContext | None = None
        self._done = threading.Event()
        self._monitor: threading.Thread | None = None

    def __enter__(self) -> DistContext:
        try:
            return self._start()
        except BaseException:
            self._stop_children()
            raise

    def _start(self) -> DistContext:
        job = self.job
        spec = self._scratch / "job.json"
        job.save(spec)
        self._store = torch_dist.TCPStore(  # type: ignore[attr-defined]  # not re-exported
            "127.0.0.1", 0, job.world_size, is_master=True, wait_for_workers=False,
            timeout=self.timeout,
        )
        port = str(self._store.port)
        root = str(Path(__file__).resolve().parents[1])  # where `model` is importable from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        for rank in range(1, job.world_size):
            with open(self._scratch / f"rank-{rank}.log", "wb") as log_file:
                self.children[rank] = subprocess.Popen(
                    [sys.executable, "-m", "model.rank_main", str(spec), str(rank), port],
                    stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                    env=env,
                )
        self._wait_ready()
        self._ctx = join(0, job.world_size, self._store, torch.device(job.devices[0]),
                         self.timeout)
        self._monitor = threading.Thread(target=self._watch, name="rank-monitor", daemon=True)
        self._monitor.start()
        log.info("data-parallel group of %d ranks on %s", job.world_size, ", ".join(job.devices))
        return self._ctx

    def _wait_ready(self) -> None:
        keys = [f"albumbot/ready/{rank}" for rank in self.children]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._store.check(keys):
            self._check_children()
            if self.failure is not None:
                raise RankFailed(self.failure)
            if time.monotonic() > deadline:
                raise RankFailed(f"the training ranks did not start within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.1)

    def _check_children(self) -> None:
        for rank, child in self.children.items():
            code = child.poll()
            if code not in (None, 0) and self.failure is None:
                self.failure = self._describe(rank, code)

    def _watch(self) -> None:
        while not self._done.wait(0.2):
            self._check_children()
            if self.failure is not None:
                log.error("%s", self.failure)
                if self._ctx is not None and self._ctx.device.type == "cuda":
                    abort()
                return

    def _describe(self, rank: int, code: int) -> str:
        how = (f"was killed by {signal.Signals(-code).name}" if code < 0
               else f"exited with status {code}")
        tail = _last_line(self._scratch / f"rank-{rank}.log")
        # its own error, or faulthandler's stack of a native crash; a SIGKILL leaves no word
        said = code > 0 or -code in NATIVE_CRASHES
        reason = f" ({tail})" if tail and said else ""
        return (f"training rank {rank} of {self.job.world_size} {how}{reason}; the run stops "
                "here and resumes from its last checkpoint")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:  # training finished on rank 0: the others finish too
            for child in self.children.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(FINISH_WAIT_S)
        else:
            # A collective that failed (gloo: "connection reset by peer") usually means a rank
            # died, but the kernel may not have finished it yet: give it a moment to show, so
            # the error names the rank rather than the socket.
            self._await_a_death(DEATH_WAIT_S)
        self._check_children()  # before stopping them: a rank that died is why rank 0 failed
        self._done.set()
        self._stop_children()
        if self._ctx is not None:
            if exc is not None and self._ctx.device.type == "cuda":
                # NCCL cannot be torn down politely with work outstanding on dead peers
                with contextlib.suppress(RuntimeError):
                    abort()
            with contextlib.suppress(RuntimeError, ValueError):
                leave(self._ctx)  # so the next job of this process can form a group again
        failure = self.failure
        if os.environ.get("ALBUMBOT_KEEP_RANK_LOGS"):  # an operator chasing a rank's crash
            log.warning("the ranks' logs are kept in %s", self._scratch)
        else:
            with contextlib.suppress(OSError):
                for path in self._scratch.iterdir():
                    path.unlink()
                self._scratch.rmdir()
        if failure is not None and not isinstance(exc, RankFailed):
            raise RankFailed(failure) from exc

    def _await_a_death(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.failure is None and time.monotonic() < deadline:
            if all(child.poll() is None for child in self.children.values()):
                time.sleep(0.05)
                continue
            self._check_children()
            break

    def _stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children.values():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip()[:500] if lines else ""
    return ""


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL when rank 0 dies, so no rank is orphaned."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
