"""Reading untrusted cover art and band photos, and writing finished covers.

Inputs come from uploads, so `open_image` trusts nothing: only PNG, JPEG and WEBP decoders may run,
the pixel count is checked from the header before any pixel is decoded (a decompression bomb is
refused, not decoded), and `load()` runs inside the guard so a truncated file fails here rather than
later inside a worker. Outputs are square sRGB JPEGs written to a temporary name and renamed.
"""

from __future__ import annotations

import io
import os
import uuid
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
DEFAULT_MAX_PIXELS = 64_000_000  # a 64 MP photo; above Pillow's own limit is refused regardless
MIN_SIDE = 32  # px; smaller images have nothing to stylize
JPEG_QUALITY = 92

ImageSource = str | os.PathLike[str] | bytes | BinaryIO


class CoverError(ValueError):
    """An image that cannot be used for a cover (unreadable, refused or too small)."""


def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", None) or "image"


def open_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode an uploaded PNG/JPEG/WEBP into an RGB image in sRGB, upright per its EXIF tag.

    Parameters
    ----------
    source : path, bytes or binary file
    max_pixels : int
        width x height above which the image is refused before decoding.

    Raises
    ------
    CoverError
        for another format, a truncated or corrupt file, too many pixels (decompression bomb) or
        a side under MIN_SIDE px.
    """
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return _decode(io.BytesIO(f.read()), name, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(io.BytesIO(bytes(source)), name, max_pixels)
    return _decode(source, name, max_pixels)


def _decode(fp: BinaryIO, name: str, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; here a bomb is always an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(fp, formats=ALLOWED_FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise CoverError(
                    f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of "
                    f"{max_pixels:,}; refusing a possible decompression bomb"
                )
            img.load()
        except CoverError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise CoverError(f"{name}: refusing a possible decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise CoverError(f"{name}: not a PNG, JPEG or WEBP image") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            reason = f"cannot decode image (truncated or corrupt?): {exc}"
            raise CoverError(f"{name}: {reason}") from None
    if min(img.size) < MIN_SIDE:
        raise CoverError(
            f"{name}: {img.width}x{img.height} is too small; both sides need {MIN_SIDE} px"
        )
    return _to_srgb(ImageOps.exif_transpose(img))


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(flat, rgba).convert("RGB")
    if icc and img.mode in ("RGB", "CMYK", "L"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(img, profile, _srgb(), outputMode="RGB")
            assert converted is not None  # None only with inPlace=True
            return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unusable embedded profile: treat the pixels as sRGB, as browsers do
    return img.convert("RGB")


def center_square(img: Image.Image) -> Image.Image:
    """The largest centred square of `img`."""
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def cover_jpeg_bytes(img: Image.Image, *, quality: int = JPEG_QUALITY) -> bytes:
    """`img` as a baseline sRGB JPEG with the sRGB profile embedded."""
    buf = io.BytesIO()
    icc = _srgb().tobytes()
    img.convert("RGB").save(buf, "JPEG", quality=quality, icc_profile=icc, optimize=True)
    return buf.getvalue()


def save_cover(
    img: Image.Image, path: str | os.PathLike[str], *, quality: int = JPEG_QUALITY
) -> Path:
    """Write `img` as a JPEG at `path` via a temporary file in the same folder and a rename."""
    path = Path(path)
    data = cover_jpeg_bytes(img, quality=quality)
    # Not tempfile.mkstemp: its 0600 mode would stick to the cover; os.open honours umask.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

