"""Generated album covers: the job that makes them (the paper's two methods, model/covers.py),
the gallery, picking one, and re-cropping it square.

A Cover row's `path` is the image served and exported (a square sRGB JPEG); `params` records how
it was made: `backend`, `seed`, `size` (px), `sources` (the SourceImage ids used), `original`
(the storage key of the generated image, kept so crops never compound) and `crop` (the square
kept, in original pixels, or null).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Cover, Job, SourceImage, utcnow
from app.contract.kinds import COVERS
from app.queue import TaskQueue
from app.schemas.covers import CoversGenerateIn, CropBox
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.jobs import scoped_key, submit
from app.services.plans import covers_payload
from app.services.projects import get_project
from app.storage import Storage
from model.cover_io import CoverError, cover_jpeg_bytes, open_image

METHODS = {"self": "self-style", "photos": "band-photos"}  # API name -> stored Cover.method


@dataclass(frozen=True)
class CoverInputs:
    """What a cover job reads: the album cover and, for method "photos", the band photos."""

    cover: Path
    photos: list[Path]
    source_ids: list[int]


@dataclass(frozen=True)
class MadeCover:
    """One generated image, already stored under `key`."""

    key: str
    backend: str
    seed: int
    size: int
    from_sound: tuple[int, ...] = ()  # made from these clips' sound (no cover was uploaded)


def request_covers(
    session: Session,
    queue: TaskQueue,
    project_id: int,
    request: CoversGenerateIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a covers job. 409 when the images the method needs are missing."""
    get_project(session, project_id)
    key = scoped_key(f"covers:{project_id}", idempotency_key)
    _source_images(session, project_id, request.method)  # fail now rather than in the worker
    payload = covers_payload(project_id, request)

    def create(s: Session) -> Job:
        return jobs.create_job(s, COVERS, payload, project_id=project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create, request=request)
    return job


def cover_inputs(session: Session, storage: Storage, project_id: int, method: str) -> CoverInputs:
    """The files a cover job of `method` ("self" | "photos") reads; Conflict when missing."""
    cover, photos = _source_images(session, project_id, method)
    used = [cover, *photos] if method == "photos" else [cover]
    return CoverInputs(
        cover=storage.path(cover.path),
        photos=[storage.path(p.path) for p in photos] if method == "photos" else [],
        source_ids=[i.id for i in used],
    )


def _source_images(
    session: Session, project_id: int, method: str
) -> tuple[SourceImage, list[SourceImage]]:
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    rows = list(
        session.scalars(
            select(SourceImage).where(SourceImage.project_id == project_id).order_by(SourceImage.id)
        )
    )
    covers = [i for i in rows if i.role == "cover"]
    photos = [i for i in rows if i.role == "photo"]
    if not covers:
        raise Conflict("the project has no album cover yet: upload one (role=cover) first")
    if method == "photos" and not photos:
        raise Conflict("method 'photos' needs band photos: upload at least one (role=photo)")
    return covers[-1], photos  # the latest cover upload is the one in use


def original_key(project_id: int, job_id: int, index: int) -> str:
    """Where a job's `index`-th generated image is stored: the same key on every attempt, so a
    redelivered job overwrites instead of piling up files."""
    return f"projects/{int(project_id)}/covers/job-{int(job_id)}-{int(index)}.jpg"


def store_covers(
    session: Session,
    project_id: int,
    job_id: int,
    method: str,
    made: Sequence[MadeCover],
    source_ids: Sequence[int],
) -> list[Cover]:
    """Cover rows for the images of job `job_id`; no commit. Rows of an earlier attempt of the
    same job are replaced."""
    session.execute(delete(Cover).where(Cover.job_id == job_id))
    rows = [
        Cover(
            project_id=project_id, job_id=job_id, method=METHODS[method], path=m.key,
            params={
                "backend": m.backend, "seed": m.seed, "size": m.size,
                "sources": list(source_ids), "original": m.key, "crop": None,
                **({"from_sound": list(m.from_sound)} if m.from_sound else {}),
            },
        )
        for m in made
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_covers(session: Session, project_id: int) -> list[Cover]:
    get_project(session, project_id)
    return list(
        session.scalars(select(Cover).where(Cover.project_id == project_id).order_by(Cover.id))
    )


def get_cover(session: Session, cover_id: int) -> Cover:
    cover = session.get(Cover, cover_id)
    if cover is None:
        raise NotFound("cover", cover_id)
    return cover


def cover_file(storage: Storage, cover: Cover) -> Path:
    path = storage.path(cover.path)
    if not path.is_file():
        raise NotFound("cover image file", cover.id)
    return path


def update_cover(
    session: Session,
    storage: Storage,
    cover_id: int,
    *,
    picked: bool | None = None,
    crop: CropBox | None = None,
    set_crop: bool = False,
) -> Cover:
    """Pick (exclusive within the project) and/or re-crop (`set_crop`; `crop` None = uncropped).

    The crop is decoded, cut and encoded with no transaction open; then the row is updated.
    """
    new_key: str | None = None  # the image to serve from now on (None: unchanged)
    box: dict[str, int] | None = None
    original = ""
    if set_crop:
        cover = get_cover(session, cover_id)
        project_id, params = cover.project_id, dict(cover.params)
        original = str(params.get("original") or cover.path)
        session.rollback()  # end the read before the slow image work
        if crop is not None:
            new_key, box = _crop(storage, project_id, cover_id, original, crop, int(params["size"]))
        else:
            new_key = original
    try:
        cover = get_cover(session, cover_id)
        old_key = cover.path
        if new_key is not None:
            cover.path = new_key
            cover.params = {**cover.params, "crop": box}
        if picked is not None:
            if picked:
                session.execute(
                    update(Cover)
                    .where(Cover.project_id == cover.project_id, Cover.id != cover.id)
                    .values(picked=False)
                )
            cover.picked = picked
        cover.updated_at = utcnow()
        session.commit()
    except BaseException:
        session.rollback()
        if box is not None and new_key is not None:
            storage.delete(new_key)  # the crop just written
        raise
    if new_key is not None and old_key not in (new_key, original):
        storage.delete(old_key)  # the previous crop; after the commit, so rows never dangle
    return cover


def _crop(
    storage: Storage, project_id: int, cover_id: int, original: str, box: CropBox, size: int
) -> tuple[str, dict[str, int]]:
    try:
        image = open_image(storage.path(original))
    except FileNotFoundError:
        raise NotFound("cover image file", cover_id) from None
    except CoverError as exc:
        raise InvalidInput(f"cannot crop: {exc}") from None
    width, height = image.size
    if box.x >= width or box.y >= height:
        raise InvalidInput(f"the crop box starts outside the {width}x{height} image")
    right, bottom = min(box.x + box.width, width), min(box.y + box.height, height)
    side = min(right - box.x, bottom - box.y)
    if side < 32:
        raise InvalidInput("the crop box is too small: keep at least 32 x 32 px")
    left = box.x + (right - box.x - side) // 2
    top = box.y + (bottom - box.y - side) // 2
    square = image.crop((left, top, left + side, top + side))
    if side != size:
        square = square.resize((size, size), Image.Resampling.LANCZOS)
    key = f"projects/{int(project_id)}/covers/{int(cover_id)}-crop-{uuid.uuid4().hex[:12]}.jpg"
    storage.write_bytes(key, cover_jpeg_bytes(square))
    return key, {"x": left, "y": top, "size": side}


def delete_cover(session: Session, storage: Storage, cover_id: int) -> None:
    cover = get_cover(session, cover_id)
    keys = {cover.path, str(cover.params.get("original") or cover.path)}
    session.delete(cover)
    session.commit()
    for key in keys:
        storage.delete(key)


def cover_out_values(cover: Cover) -> dict[str, Any]:
    """The fields of CoverOut that come from `params`."""
    params = cover.params or {}
    return {
        "backend": params.get("backend"),
        "seed": params.get("seed"),
        "size": int(params.get("size", 0)),
        "crop": params.get("crop"),
    }
