"""Training runs: create (prepare + train + generate, done by the gpu worker), cancel, resume;
checkpoints and on-demand clip generation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Checkpoint, Job, Run, SourceTrack
from app.contract.kinds import GENERATE, RUN
from app.contract.payloads import RunPayload
from app.contract.plan import RunPlan
from app.queue import TaskQueue
from app.schemas.runs import GenerateIn, RunConfigIn
from app.services.errors import Conflict, NotFound
from app.services.jobs import cancel_job, scoped_key, submit
from app.services.plans import generate_payload, run_plan
from app.services.priming import resolve_prime
from app.services.projects import get_project


def create_run(
    session: Session,
    queue: TaskQueue,
    project_id: int,
    cfg: RunConfigIn,
    *,
    idempotency_key: str | None = None,
) -> Run:
    """A queued Run (its RunPlan in `config`) and its run job, committed, then published."""
    get_project(session, project_id)
    key = scoped_key(f"run:{project_id}", idempotency_key)
    plan = run_plan(cfg)
    sources = session.scalar(select(func.count()).where(SourceTrack.project_id == project_id))
    if not sources:
        raise Conflict("the project has no source tracks yet: upload album audio first")

    def create(s: Session) -> Job:
        run = Run(project_id=project_id, config=plan.to_dict())
        s.add(run)
        s.flush()
        job = jobs.create_job(
            s, RUN, RunPayload(run_id=run.id), project_id=project_id, idempotency_key=key
        )
        run.job_id = job.id
        return job

    job, _ = submit(session, queue, key, create, request=cfg)
    return _run_of_job(session, job)


def plan_of(run: Run) -> RunPlan:
    """The run's typed plan (what `Run.config` stores)."""
    return RunPlan.from_dict(run.config)


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return run


def list_runs(session: Session, project_id: int) -> list[Run]:
    get_project(session, project_id)
    return list(session.scalars(select(Run).where(Run.project_id == project_id).order_by(Run.id)))


def cancel_run(session: Session, run_id: int) -> Run:
    """Ask the run to stop (idempotent). Clips and checkpoints made so far stay."""
    run = get_run(session, run_id)
    run.cancel_requested = True
    session.commit()
    if run.job_id is not None:
        cancel_job(session, run.job_id)
    elif run.status == "queued":
        run.status = "cancelled"
        session.commit()
    session.refresh(run)
    return run


def resume_run(
    session: Session, queue: TaskQueue, run_id: int, *, idempotency_key: str | None = None
) -> Run:
    """Start a failed or cancelled run again with a new job; the worker continues from its last
    checkpoint."""
    run = get_run(session, run_id)
    key = scoped_key(f"resume:{run_id}", idempotency_key)

    def create(s: Session) -> Job:
        if run.status not in ("failed", "cancelled"):
            raise Conflict(f"run {run_id} is {run.status}; only failed or cancelled runs resume")
        job = jobs.create_job(
            s, RUN, RunPayload(run_id=run.id, resume=True), project_id=run.project_id,
            idempotency_key=key,
        )
        run.job_id, run.status, run.cancel_requested, run.error = job.id, "queued", False, None
        return job

    submit(session, queue, key, create)
    session.refresh(run)
    return run


def list_checkpoints(session: Session, run_id: int) -> list[Checkpoint]:
    return list(get_run(session, run_id).checkpoints)


def generate_clips(
    session: Session,
    queue: TaskQueue,
    checkpoint_id: int,
    request: GenerateIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a generate job: `n` more clips from one checkpoint, each first reading
    `request.prime` when given."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound("checkpoint", checkpoint_id)
    prime = resolve_prime(session, checkpoint.run, request.prime) if request.prime else None
    key = scoped_key(f"generate:{checkpoint_id}", idempotency_key)
    # A fixed seed in the payload makes a redelivered task produce the very same clips.
    payload = generate_payload(checkpoint_id, checkpoint.run_id, request, prime)

    def create(s: Session) -> Job:
        return jobs.create_job(
            s, GENERATE, payload, project_id=checkpoint.run.project_id, idempotency_key=key
        )

    job, _ = submit(session, queue, key, create, request=request)
    return job


def _run_of_job(session: Session, job: Job) -> Run:
    run = session.get(Run, jobs.payload_of(RUN, job).run_id)
    assert run is not None, "a run job without its run"
    return run


# -- reads for the pages ------------------------------------------------------------------------


def run_job(session: Session, run: Run) -> Job | None:
    """The job driving the run now (None before it has one, or when its row is gone)."""
    return session.get(Job, run.job_id) if run.job_id else None


def nll_rows(run: Run) -> list[dict[str, Any]]:
    """Per-epoch NLL in bits, `{epoch, train_nll_bits, valid_nll_bits}`, from the checkpoints,
    else from the run's metrics."""
    rows = [
        {"epoch": c.epoch, "train_nll_bits": c.train_nll_bits, "valid_nll_bits": c.valid_nll_bits}
        for c in run.checkpoints
    ]
    if rows:
        return rows
    return [m for m in run.metrics if isinstance(m, dict) and "epoch" in m]


def quality_rows(run: Run) -> list[dict[str, Any]]:
    """Per epoch: validation NLL (bits), the style distance of its analysed clips to the album,
    and the shares of them flagged and flagged copied (None before analysis)."""
    return [
        {"epoch": c.epoch, "valid_nll_bits": c.valid_nll_bits, "style_distance": c.style_distance,
         "flagged_share": c.flagged_share, "copied_share": c.copied_share}
        for c in run.checkpoints
    ]


def valid_nll_by_epoch(session: Session, project_id: int) -> dict[tuple[int, int], float | None]:
    """{(run id, epoch): validation NLL in bits} of every checkpoint of a project."""
    rows = session.execute(
        select(Checkpoint.run_id, Checkpoint.epoch, Checkpoint.valid_nll_bits)
        .join(Run, Run.id == Checkpoint.run_id)
        .where(Run.project_id == project_id)
    )
    return {(run_id, epoch): nll for run_id, epoch, nll in rows}


def trained_epochs(session: Session, project_id: int) -> list[int]:
    """The checkpointed epochs of the project's latest run that has any, ascending ([] if none)."""
    run_id = session.scalar(
        select(Run.id).where(Run.project_id == project_id, Run.checkpoints.any())
        .order_by(Run.id.desc()).limit(1)
    )
    if run_id is None:
        return []
    query = select(Checkpoint.epoch).where(Checkpoint.run_id == run_id).order_by(Checkpoint.epoch)
    return list(session.scalars(query))
