"""Celery tasks of the album jobs: thin adapters from `(job_id)` to a runner of
worker/album_runners.py under the job's lease (worker/lease.py)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from worker import album_runners
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name="generate-titles", bind=True)
def generate_titles(self: Task, job_id: int) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """Markov titles from the discography (payload: project_id, n, seed, replace)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, album_runners.run_titles)


@shared_task(name="generate-covers", bind=True)
def generate_covers(self: Task, job_id: int) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """Covers by the paper's methods (payload: project_id, method, size, seed, backend, n)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, album_runners.run_covers)


@shared_task(name="export-album", bind=True)
def export_album(self: Task, job_id: int) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """The release zip of an album snapshot (payload: export_id, formats, album)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, album_runners.run_export)


@shared_task(name="auto-album", bind=True)
def auto_album(self: Task, job_id: int) -> dict[str, Any] | None:  # type: ignore[type-arg]
    """The no-curation album, made and exported (payload: app/services/auto_album.py)."""
    return execute(
        runtime_of(self.app), self.request.hostname, job_id, album_runners.run_auto_album
    )
