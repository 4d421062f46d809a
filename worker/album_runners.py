"""Runners of the album jobs: titles, covers, the release export and the no-curation album.

Each is `runner(rt, lease, payload) -> result`, run under the job's lease by `worker.lease.execute`.
They read in short sessions, do the slow work (Markov chains, style transfer, rendering and
mastering) with no session open, and write their outputs in one fenced transaction, replacing
whatever an earlier attempt of the same job wrote, so a redelivered job leaves one copy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.catalog import Job
from app.jobs import LeaseLost
from app.services import auto_album, covers, release_build, titles
from app.services.errors import DomainError
from model.cover_io import cover_jpeg_bytes
from model.covers import CoverConfig, available_backends, photo_style_cover, self_style_cover
from model.titles import generate_titles
from worker.errors import JobError, describe
from worker.lease import Lease, Stopped
from worker.runtime import Runtime

logger = logging.getLogger(__name__)
API = "/api/v1"  # links in job results (the worker does not import the web routes)


# -- titles -------------------------------------------------------------------------------------


def run_titles(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    """Draw `n` titles from the project's discography (payload: project_id, n, seed, replace)."""
    project_id, n, seed = int(payload["project_id"]), int(payload["n"]), int(payload["seed"])
    with rt.reading() as session:
        sources = titles.discography(session, project_id)
    lease.report(message=f"drawing {n} titles from {len(sources)} song titles")
    try:
        texts = generate_titles(sources, n, seed=seed)
    except ValueError as exc:
        raise JobError(f"cannot generate titles: {exc}") from None
    lease.check()
    with lease.fenced() as session:
        rows = titles.store_titles(
            session, project_id, lease.job_id, texts, replace=bool(payload.get("replace"))
        )
        ids = [r.id for r in rows]
    return {"count": len(ids), "seed": seed, "title_ids": ids[:1] + ids[-1:]}


# -- covers -------------------------------------------------------------------------------------


def run_covers(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    """Make `n` covers (payload: project_id, method, size, seed, backend, n)."""
    project_id, method = int(payload["project_id"]), str(payload["method"])
    size, seed, n = int(payload["size"]), int(payload["seed"]), int(payload["n"])
    with rt.reading() as session:
        inputs = _domain(lambda: covers.cover_inputs(session, rt.storage, project_id, method))
    made = []
    for i in range(n):
        lease.check()
        lease.report(progress=i / n, message=f"cover {i + 1} of {n} ({method})")
        made.append(
            make_cover(
                rt, project_id, lease.job_id, i, inputs, method=method, size=size, seed=seed + i,
                backend=str(payload["backend"]),
            )
        )
    with lease.fenced() as session:
        rows = covers.store_covers(session, project_id, lease.job_id, method, made, inputs.source_ids)
        ids = [r.id for r in rows]
    return {"cover_ids": ids, "backend": made[0].backend if made else None}


def make_cover(
    rt: Runtime,
    project_id: int,
    job_id: int,
    index: int,
    inputs: covers.CoverInputs,
    *,
    method: str,
    size: int,
    seed: int,
    backend: str,
) -> covers.MadeCover:
    """One cover image (the paper's method `method`), stored under its job's key."""
    config = CoverConfig()
    used = available_backends(config)[0] if backend == "auto" else backend
    if method == "photos":
        image = photo_style_cover(
            inputs.cover, inputs.photos, size=size, seed=seed, backend=used, config=config
        )
    else:
        image = self_style_cover(inputs.cover, size=size, seed=seed, backend=used, config=config)
    key = covers.original_key(project_id, job_id, index)
    rt.storage.write_bytes(key, cover_jpeg_bytes(image))
    return covers.MadeCover(key=key, backend=used, seed=seed, size=size)


# -- export -------------------------------------------------------------------------------------


def run_export(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    """Export the album snapshot in the payload (export_id, formats, album)."""
    release = export_release(rt, lease, payload)
    return export_result(int(payload["export_id"]), int(payload["album"]["album_id"]), release)


def export_release(
    rt: Runtime, lease: Lease, payload: dict[str, Any], *, start: float = 0.0
) -> release_build.Release:
    """Render, master and package; keeps the Export row's status in step with the job's.
    Progress goes from `start` to 1."""
    export_id = int(payload["export_id"])
    with lease.fenced() as session:
        release_build.record_status(session, export_id, "running")
    try:
        with rt.reading() as session:
            plan = _domain(
                lambda: release_build.plan_export(
                    session, rt.storage, export_id, payload["album"], list(payload["formats"])
                )
            )

        def report(progress: float, message: str) -> None:
            lease.report(progress=start + (1.0 - start) * progress, message=message)

        release = release_build.build_release(rt.storage, plan, report=report, check=lease.check)
        with lease.fenced() as session:
            release_build.record_release(session, export_id, release)
        return release
    except LeaseLost:
        raise
    except Stopped as stop:
        _end_export(lease, export_id, "cancelled" if stop.reason == "cancel" else "queued", None)
        raise
    except Exception as exc:
        _end_export(lease, export_id, "failed", describe(exc))
        raise


def _end_export(lease: Lease, export_id: int, status: str, error: str | None) -> None:
    try:
        with lease.fenced() as session:
            release_build.record_status(session, export_id, status, error)
    except LeaseLost:
        pass  # another attempt owns the export now


def export_result(export_id: int, album_id: int, release: release_build.Release) -> dict[str, Any]:
    return {
        "export_id": export_id,
        "album_id": album_id,
        "export_url": f"{API}/exports/{export_id}",
        "download_url": f"{API}/exports/{export_id}/download",
        "album_url": f"{API}/albums/{album_id}",
        "size_bytes": release.size_bytes,
        "sha256": release.sha256,
        "notes": release.notes,
        "problems": release.problems,
    }


# -- the no-curation album ----------------------------------------------------------------------


def run_auto_album(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    """Random clips (or fresh ones), random titles, a generated cover, exported.

    Payload: see app/services/auto_album.py. After the album rows exist the payload also holds
    the export (`export_id`, `album`), and a retry goes straight to exporting.
    """
    notes: list[str] = []
    if "export_id" not in payload:
        payload = _make_album(rt, lease, payload, notes)
    release = export_release(rt, lease, payload, start=0.5)
    result = export_result(int(payload["export_id"]), int(payload["album"]["album_id"]), release)
    album = payload["album"]
    result.update(
        seed=payload["seed"],
        mode=payload["mode"],
        title=album["title"],
        titles=[t["title"] for t in album["tracks"]],
        track_ids=[t["track_id"] for t in album["tracks"]],
        clip_ids=payload.get("clip_ids", []),
        cover_id=album["cover_id"],
        notes=[*payload.get("notes", []), *release.notes],
    )
    return result


def _make_album(
    rt: Runtime, lease: Lease, payload: dict[str, Any], notes: list[str]
) -> dict[str, Any]:
    project_id, seed = int(payload["project_id"]), int(payload["seed"])
    if payload["mode"] == "generate":
        pieces = _generate_pieces(rt, lease, payload)
    else:
        pieces = auto_album.pieces_of(payload["pieces"])
    lease.check()
    lease.report(progress=0.4, message="drawing titles")
    with rt.reading() as session:
        sources = titles.discography(session, project_id)
        cover_inputs = _optional_cover(session, rt, project_id, notes)
    wanted = len(pieces) + (0 if payload.get("title") else 1)
    names = auto_titles(sources, wanted, seed, notes)
    album_title = str(payload.get("title") or names.pop(0) or "Untitled")
    names = [
        name or _fallback_title(payload["mode"], piece, i)
        for i, (name, piece) in enumerate(zip(names, pieces, strict=True))
    ]
    made = None
    if cover_inputs is not None:
        lease.check()
        lease.report(progress=0.45, message="generating the cover")
        made = make_cover(
            rt, project_id, lease.job_id, 0, cover_inputs, method="self",
            size=auto_album.COVER_SIZE, seed=seed, backend=auto_album.COVER_BACKEND,
        )
    with lease.fenced() as session:
        job = session.get(Job, lease.job_id)
        assert job is not None
        album = auto_album.materialize(
            session, rt.storage, job, pieces, names, album_title, made,
            cover_inputs.source_ids if cover_inputs else [],
        )
        job.payload = {
            **job.payload, "notes": notes, "clip_ids": [p.clip_id for p in pieces],
        }
        logger.info("auto album %d: %d tracks", album.id, len(pieces))
        return dict(job.payload)


def _generate_pieces(
    rt: Runtime, lease: Lease, payload: dict[str, Any]
) -> list[auto_album.Piece]:
    """Fresh clips from the chosen checkpoint, made by the clip-generation runner itself."""
    from worker.runners import generate_more  # torch: only in the process that generates

    spec = payload["generate"]
    lease.report(progress=0.0, message=f"generating {spec['n']} clips of {spec['seconds']} s")
    made = generate_more(rt, lease, {**payload, **spec})
    with rt.reading() as session:
        return auto_album.whole_clips(session, made["clip_ids"])


def _optional_cover(
    session: Session, rt: Runtime, project_id: int, notes: list[str]
) -> covers.CoverInputs | None:
    try:
        return covers.cover_inputs(session, rt.storage, project_id, "self")
    except DomainError as exc:
        notes.append(f"No cover was generated: {exc.message}")
        return None


def auto_titles(sources: Sequence[str], n: int, seed: int, notes: list[str]) -> list[str]:
    """`n` titles drawn at random from the discography's chains; "" where none could be drawn
    (too small a discography), with a note saying why."""
    try:
        drawn = generate_titles(sources, n, seed=seed)
    except ValueError as exc:
        notes.append(f"Titles are placeholders: {exc}")
        drawn = []
    return drawn + [""] * (n - len(drawn))


def _fallback_title(mode: str, piece: auto_album.Piece, index: int) -> str:
    return f"Epoch {piece.epoch}" if mode == "epochs" else f"Track {index + 1}"


def _domain(call: Any) -> Any:
    """Run `call()`, turning a domain error into the job's readable reason."""
    try:
        return call()
    except DomainError as exc:
        raise JobError(exc.message) from None
