"""Cover and band photos: decoded, size-checked and re-encoded before they are kept."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import SourceImage
from app.received import ReceivedFile
from app.services.errors import InvalidInput, NotFound, TooLarge, UnsupportedMedia
from app.services.projects import get_project
from app.storage import Storage

# Pillow decodes dozens of formats (FITS, PSD, ...); accepting only these keeps its attack
# surface to three well-fuzzed decoders (RELIABILITY 24, GHSA-whj4-6x5x-4v2j).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
ROLES = ("cover", "photo")


def reencode_image(file: ReceivedFile, *, max_pixels: int) -> tuple[bytes, str, int, int]:
    """Decode fully and re-encode (dropping metadata and anything hidden in the file).

    Returns (data, format, width, height); format is JPEG for JPEG input, PNG otherwise.
    """
    name = file.display_name
    try:
        with Image.open(file.path, formats=ACCEPTED_FORMATS) as im:
            # The header is read; refuse big images before decoding a single pixel.
            if im.width * im.height > max_pixels:
                raise TooLarge(
                    f"{name}: {im.width}x{im.height} is over the {max_pixels} pixel limit",
                    file=name,
                )
            source_format = im.format
            im.load()  # a truncated JPEG passes open() and verify(), and fails only here
            image = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError:
        raise TooLarge(f"{name}: image is too large (decompression bomb)", file=name) from None
    except UnidentifiedImageError:
        raise UnsupportedMedia(f"{name}: not a PNG, JPEG or WebP image", file=name) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"{name}: damaged or truncated image ({exc})", file=name) from None
    out = io.BytesIO()
    if source_format == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=92)
        fmt = "JPEG"
    else:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", optimize=False)
        fmt = "PNG"
    return out.getvalue(), fmt, image.width, image.height


def add_image(
    session: Session,
    storage: Storage,
    project_id: int,
    file: ReceivedFile,
    *,
    role: str,
    max_pixels: int,
) -> SourceImage:
    if role not in ROLES:
        raise InvalidInput(f"role must be 'cover' or 'photo', got {role!r}")
    if file.size == 0:
        raise InvalidInput(f"{file.display_name}: file is empty (0 bytes)")
    data, fmt, width, height = reencode_image(file, max_pixels=max_pixels)  # before any query
    get_project(session, project_id)
    key = storage.new_key(project_id, "images", ".jpg" if fmt == "JPEG" else ".png")
    path = storage.write_bytes(key, data)
    try:
        image = SourceImage(
            project_id=project_id,
            role=role,
            display_name=file.display_name,
            path=key,
            format=fmt,
            width=width,
            height=height,
            size_bytes=len(data),
        )
        session.add(image)
        session.commit()
    except BaseException:
        session.rollback()
        path.unlink(missing_ok=True)
        raise
    return image


def list_images(session: Session, project_id: int) -> list[SourceImage]:
    get_project(session, project_id)
    query = select(SourceImage).where(SourceImage.project_id == project_id).order_by(SourceImage.id)
    return list(session.scalars(query))


def get_image(session: Session, image_id: int) -> SourceImage:
    image = session.get(SourceImage, image_id)
    if image is None:
        raise NotFound("image", image_id)
    return image


def latest_cover_id(session: Session, project_id: int) -> int | None:
    """Id of the album cover uploaded last, None when there is none."""
    return session.scalar(
        select(SourceImage.id)
        .where(SourceImage.project_id == project_id, SourceImage.role == "cover")
        .order_by(SourceImage.id.desc())
        .limit(1)
    )


def count_by_role(session: Session, project_id: int) -> dict[str, int]:
    """{role: number of images} for every role (0 where none was uploaded)."""
    counts = dict.fromkeys(ROLES, 0)
    for image in list_images(session, project_id):
        counts[image.role] += 1
    return counts
