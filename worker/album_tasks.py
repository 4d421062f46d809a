"""Celery tasks of the album jobs: thin adapters from `(job_id)` to a runner of
worker/album_runners.py under the job's lease (worker/lease.py), registered under their job
kinds' task names (app/contract/kinds.py)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from app.contract.kinds import AUTO_ALBUM, COVERS, EXPORT, TITLES
from worker import album_runners
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name=TITLES.task, bind=True)  # type: ignore[untyped-decorator]
def generate_titles(self: Task, job_id: int) -> dict[str, Any] | None:
    """Markov titles from the discography (TitlesPayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, TITLES, album_runners.run_titles)


@shared_task(name=COVERS.task, bind=True)  # type: ignore[untyped-decorator]
def generate_covers(self: Task, job_id: int) -> dict[str, Any] | None:
    """Covers by the paper's methods (CoversPayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, COVERS, album_runners.run_covers)


@shared_task(name=EXPORT.task, bind=True)  # type: ignore[untyped-decorator]
def export_album(self: Task, job_id: int) -> dict[str, Any] | None:
    """The release zip of an album snapshot (ExportPayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, EXPORT, album_runners.run_export)


@shared_task(name=AUTO_ALBUM.task, bind=True)  # type: ignore[untyped-decorator]
def auto_album(self: Task, job_id: int) -> dict[str, Any] | None:
    """The no-curation album, made and exported (AutoAlbumPayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, AUTO_ALBUM, album_runners.run_auto_album)
