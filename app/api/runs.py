"""/runs and /checkpoints: training runs, their checkpoints, and more clips from any epoch."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import (
    LIMIT_JOBS,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
)
from app.api.links import RUN_LINKS
from app.api.problems import Responses
from app.api.urls import job_url
from app.schemas.common import Page
from app.schemas.jobs import JobOut
from app.schemas.runs import CheckpointOut, GenerateAccepted, GenerateIn, RunConfigIn, RunOut
from app.services import generate_seeds, runs

router = APIRouter(tags=["runs"])
ACCEPTED: Responses = {202: {"description": "queued; Location points at the job"}}


@router.post(
    "/projects/{project_id}/runs", status_code=202, response_model=RunOut,
    responses={202: {**ACCEPTED[202], "links": RUN_LINKS}}, dependencies=[LIMIT_JOBS],
)
def create_run(
    project_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: RunConfigIn | None = None,
) -> RunOut:
    """Prepare the dataset (once per project and settings), train, and generate clips after
    every epoch, on a gpu worker. An empty body uses the `paper` preset's defaults."""
    run = runs.create_run(
        session, queue, project_id, body or RunConfigIn(), idempotency_key=idempotency_key
    )
    if run.job_id is not None:
        response.headers["Location"] = job_url(run.job_id)
    return RunOut.model_validate(run)


@router.get("/projects/{project_id}/runs", response_model=Page[RunOut])
def list_runs(project_id: ResourceId, session: ReadSessionDep) -> Page[RunOut]:
    return Page(data=[RunOut.model_validate(r) for r in runs.list_runs(session, project_id)])


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: ResourceId, session: ReadSessionDep) -> RunOut:
    return RunOut.model_validate(runs.get_run(session, run_id))


@router.post("/runs/{run_id}/cancel", status_code=202, response_model=RunOut, responses=ACCEPTED)
def cancel_run(run_id: ResourceId, session: SessionDep, response: Response) -> RunOut:
    """Ask the run to stop after its current step; clips and checkpoints made so far stay."""
    run = runs.cancel_run(session, run_id)
    if run.job_id is not None:
        response.headers["Location"] = job_url(run.job_id)
    return RunOut.model_validate(run)


@router.post(
    "/runs/{run_id}/resume", status_code=202, response_model=RunOut, responses=ACCEPTED,
    dependencies=[LIMIT_JOBS],
)
def resume_run(
    run_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunOut:
    """Continue a failed or cancelled run from its last checkpoint, under a new job."""
    run = runs.resume_run(session, queue, run_id, idempotency_key=idempotency_key)
    if run.job_id is not None:
        response.headers["Location"] = job_url(run.job_id)
    return RunOut.model_validate(run)


@router.get("/runs/{run_id}/checkpoints", response_model=Page[CheckpointOut])
def list_checkpoints(run_id: ResourceId, session: ReadSessionDep) -> Page[CheckpointOut]:
    rows = runs.list_checkpoints(session, run_id)
    return Page(data=[CheckpointOut.model_validate(c) for c in rows])


@router.post(
    "/checkpoints/{checkpoint_id}/generate",
    status_code=202,
    response_model=GenerateAccepted,
    responses=ACCEPTED,
    dependencies=[LIMIT_JOBS],
)
def generate_clips(
    checkpoint_id: ResourceId,
    body: GenerateIn,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> GenerateAccepted:
    """Generate `n` more clips of `seconds` from this checkpoint on a gpu worker. Without
    `seed` every request draws a fresh one; an explicit seed this checkpoint has already seen
    comes back with a warning (clips are seeded by the seed and their new index, so they are
    new clips, not the earlier ones again). With `prime`, every clip first reads that excerpt of
    a source track or clip and continues from its end; the clip's provenance records it."""
    job = runs.generate_clips(session, queue, checkpoint_id, body, idempotency_key=idempotency_key)
    response.headers["Location"] = job_url(job.id)
    seed = int(job.payload["seed"])
    warnings = [] if body.seed is None else generate_seeds.seed_warnings(
        session, job.project_id or 0, checkpoint_id, seed, exclude_job=job.id
    )
    return GenerateAccepted.model_validate(
        {**JobOut.model_validate(job).model_dump(), "seed": seed, "warnings": warnings}
    )
