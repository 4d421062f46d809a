"""Radios: start one from a run's checkpoint, read its state, stop it.

A radio is a job of kind RADIO (app/contract/kinds.py): its id is the job's id, its state is the
job row plus the buffer's head in media storage (app/radio/buffer.py), so it survives a restart
of the web app and needs no table of its own. "Keep that" is app/services/radio_keep.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Checkpoint, Job, Run
from app.contract.kinds import RADIO
from app.contract.payloads import RadioPayload
from app.queue import TaskQueue
from app.radio.buffer import Head, RadioBuffer, radio_key
from app.schemas.radio import RadioIn
from app.services.errors import Conflict, NotFound
from app.services.jobs import cancel_job, scoped_key, submit
from app.services.plans import fresh_seed
from app.services.priming import resolve_prime
from app.storage import Storage

LIVE = ("queued", "running")


@dataclass(frozen=True)
class Radio:
    """A radio's job, its typed payload and what its buffer holds now (None: nothing yet)."""

    job: Job
    payload: RadioPayload
    head: Head | None

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def live(self) -> bool:
        return self.job.status in LIVE


def start_radio(
    session: Session,
    queue: TaskQueue,
    run_id: int,
    request: RadioIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a radio from one of the run's checkpoints (the last by default)."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("run", run_id)
    checkpoint = _checkpoint(session, run, request.epoch)
    prime = resolve_prime(session, run, request.prime) if request.prime else None
    payload = RadioPayload(
        checkpoint_id=checkpoint.id, run_id=run.id, temperature=request.temperature,
        seed=request.seed if request.seed is not None else fresh_seed(), prime=prime,
        ahead_s=request.ahead_s, keep_s=request.keep_s,
    )
    key = scoped_key(f"radio:{run_id}", idempotency_key)

    def create(s: Session) -> Job:
        return jobs.create_job(s, RADIO, payload, project_id=run.project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create, request=request)
    return job


def get_radio(session: Session, storage: Storage, radio_id: int) -> Radio:
    job = session.get(Job, radio_id)
    if job is None or job.kind != RADIO.name or job.project_id is None:
        raise NotFound("radio", radio_id)  # (no project: it was deleted with its files)
    return Radio(job, jobs.payload_of(RADIO, job), buffer_of(storage, job).head())


def stop_radio(session: Session, storage: Storage, radio_id: int) -> Radio:
    """Ask the generator to stop (idempotent); the buffer stays readable for "keep that"."""
    get_radio(session, storage, radio_id)
    cancel_job(session, radio_id)
    session.expire_all()
    return get_radio(session, storage, radio_id)


def radios_of_run(session: Session, run_id: int) -> list[Job]:
    rows = session.scalars(select(Job).where(Job.kind == RADIO.name).order_by(Job.id.desc()))
    return [j for j in rows if j.payload.get("run_id") == run_id]


def buffer_of(storage: Storage, job: Job) -> RadioBuffer:
    assert job.project_id is not None, "a radio job always has its project"
    return RadioBuffer(storage.path(radio_key(job.project_id, job.id)))


def elapsed_s(head: Head, now: float | None = None) -> float:
    """Stream time on air now (never past what was generated)."""
    now = time.time() if now is None else now
    return max(0.0, min(now - head.t0, head.next * head.segment_s))


def _checkpoint(session: Session, run: Run, epoch: int | str) -> Checkpoint:
    query = select(Checkpoint).where(Checkpoint.run_id == run.id)
    if epoch == "last":
        found = session.scalars(query.order_by(Checkpoint.epoch.desc()).limit(1)).first()
        if found is None:
            raise Conflict(f"run {run.id} has no checkpoint yet: wait for its first epoch")
        return found
    found = session.scalars(query.where(Checkpoint.epoch == epoch)).first()
    if found is None:
        raise NotFound("checkpoint of epoch", epoch)
    return found
