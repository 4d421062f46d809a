"""Tags and cover art in exported files (mutagen), and MP3 listening copies (ffmpeg).

FLAC: Vorbis comments ``TITLE, ARTIST, ALBUM, ALBUMARTIST, TRACKNUMBER, TRACKTOTAL, DATE`` (+
``DISCNUMBER, DISCTOTAL, GENRE, COMMENT, ISRC, COMPOSER, LABEL`` and ``ORGANIZATION`` (the
label, as the Vorbis comment spec names it), ``BARCODE`` when given) and one
METADATA_BLOCK_PICTURE of type 3 (front cover). MP3: ID3v2.4 ``TIT2, TPE1, TALB, TPE2,
TRCK "n/N", TDRC`` (+ ``TPOS "n/N", TCON, COMM, TSRC, TCOM, TPUB, TXXX:BARCODE``) and ``APIC``
type 3. Credits follow MusicBrainz Picard's mapping (`CREDIT_FRAMES`): the upper-case role as a
Vorbis comment; in ID3v2.4 an involved-people pair (``TIPL``) or the role's own frame.
Existing tags are replaced, so tagging twice gives the same file.
"""

# mutagen ships no type hints; its constructors and methods are untyped calls.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from mutagen.flac import FLAC, Picture
from mutagen.id3 import (
    APIC,
    COMM,
    ID3,
    TALB,
    TCOM,
    TCON,
    TDRC,
    TEXT,
    TIPL,
    TIT2,
    TPE1,
    TPE2,
    TPE3,
    TPE4,
    TPOS,
    TPUB,
    TRCK,
    TSRC,
    TXXX,
    PictureType,
)
from PIL import Image

FFMPEG_TIMEOUT_S = 900
# credit role -> its ID3v2.4 home: ("TIPL", involvement) pairs, or a text frame of its own
CREDIT_FRAMES: dict[str, tuple[str, str]] = {
    "producer": ("TIPL", "producer"),
    "engineer": ("TIPL", "engineer"),
    "mixer": ("TIPL", "mix"),
    "arranger": ("TIPL", "arranger"),
    "lyricist": ("TEXT", ""),
    "remixer": ("TPE4", ""),
    "conductor": ("TPE3", ""),
    "writer": ("TXXX", "Writer"),
}


class TaggingError(ValueError):
    """A cover or file that cannot be tagged; the message says which and why."""


@dataclass(frozen=True)
class TrackTags:
    title: str
    artist: str
    album: str
    album_artist: str
    track_number: int
    track_total: int
    date: str = ""  # "2026" or "2026-05-01"
    comment: str = ""  # provenance, e.g. "SampleRNN run 3, epoch 12 (albumbot)"
    genre: str = ""
    disc_number: int | None = None
    disc_total: int | None = None
    isrc: str = ""
    composer: str = ""
    label: str = ""
    barcode: str = ""  # the release's UPC/EAN
    credits: tuple[tuple[str, str], ...] = ()  # (role, name), roles of CREDIT_FRAMES


@dataclass(frozen=True)
class CoverArt:
    """A JPEG front cover, checked and measured once."""

    data: bytes
    width: int
    height: int

    @classmethod
    def from_jpeg(cls, path: Path) -> CoverArt:
        data = Path(path).read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as image:
                fmt, (width, height) = image.format, image.size
        except Exception as exc:  # PIL raises many kinds for non-images
            raise TaggingError(f"cover {path}: not a readable image ({exc})") from exc
        if fmt != "JPEG":
            raise TaggingError(f"cover {path}: expected a JPEG, got {fmt}")
        return cls(data=data, width=width, height=height)


def tag_text(value: str, *, lines: bool = False) -> str:
    """Tag values keep the real title, minus what no tag can hold (controls, lone surrogates).
    With `lines` (comments), line breaks are kept."""
    value = unicodedata.normalize("NFC", value)
    return "".join(
        ch for ch in value
        if unicodedata.category(ch) not in ("Cc", "Cs") or (lines and ch == "\n")
    ).strip()


def tag_flac(path: Path, tags: TrackTags, cover: CoverArt | None = None) -> None:
    """Replace the Vorbis comments and pictures of the FLAC at `path`."""
    audio = FLAC(path)
    audio.delete()  # drop whatever comments there were
    audio.clear_pictures()
    fields = {
        "TITLE": tags.title,
        "ARTIST": tags.artist,
        "ALBUM": tags.album,
        "ALBUMARTIST": tags.album_artist,
        "TRACKNUMBER": str(tags.track_number),
        "TRACKTOTAL": str(tags.track_total),
        "DATE": tags.date,
        "GENRE": tags.genre,
        "COMMENT": tags.comment,
        "ISRC": tags.isrc,
        "DISCNUMBER": "" if tags.disc_number is None else str(tags.disc_number),
        "DISCTOTAL": "" if tags.disc_total is None else str(tags.disc_total),
        "COMPOSER": tags.composer,
        "LABEL": tags.label,
        "ORGANIZATION": tags.label,
        "BARCODE": tags.barcode,
    }
    for key, value in fields.items():
        text = tag_text(value, lines=key == "COMMENT")
        if text:
            audio[key] = [text]
    for role, name in tags.credits:
        if role not in CREDIT_FRAMES:
            raise TaggingError(f"unknown credit role {role!r} (known: {sorted(CREDIT_FRAMES)})")
        if tag_text(name):
            audio[role.upper()] = [*audio.get(role.upper(), []), tag_text(name)]
    if cover is not None:
        picture = Picture()
        picture.type = PictureType.COVER_FRONT  # 3
        picture.mime = "image/jpeg"
        picture.desc = "Front cover"
        picture.width, picture.height, picture.depth = cover.width, cover.height, 24
        picture.data = cover.data
        audio.add_picture(picture)
    audio.save()


def tag_mp3(path: Path, tags: TrackTags, cover: CoverArt | None = None) -> None:
    """Write a fresh ID3v2.4 tag to the MP3 at `path` (any previous ID3 tag is replaced)."""
    id3 = ID3()
    enc = 3  # UTF-8
    id3.add(TIT2(encoding=enc, text=tag_text(tags.title)))
    id3.add(TPE1(encoding=enc, text=tag_text(tags.artist)))
    id3.add(TALB(encoding=enc, text=tag_text(tags.album)))
    id3.add(TPE2(encoding=enc, text=tag_text(tags.album_artist)))
    id3.add(TRCK(encoding=enc, text=f"{tags.track_number}/{tags.track_total}"))
    if tags.date:
        id3.add(TDRC(encoding=enc, text=tag_text(tags.date)))
    if tags.disc_number is not None:
        disc = str(tags.disc_number) + (f"/{tags.disc_total}" if tags.disc_total else "")
        id3.add(TPOS(encoding=enc, text=disc))
    if tags.genre:
        id3.add(TCON(encoding=enc, text=tag_text(tags.genre)))
    if tags.comment:
        id3.add(COMM(encoding=enc, lang="eng", desc="", text=tag_text(tags.comment, lines=True)))
    if tags.isrc:
        id3.add(TSRC(encoding=enc, text=tag_text(tags.isrc)))
    if tags.composer:
        id3.add(TCOM(encoding=enc, text=tag_text(tags.composer)))
    if tags.label:
        id3.add(TPUB(encoding=enc, text=tag_text(tags.label)))
    if tags.barcode:
        id3.add(TXXX(encoding=enc, desc="BARCODE", text=tag_text(tags.barcode)))
    _add_credits(id3, tags.credits)
    if cover is not None:
        id3.add(
            APIC(
                encoding=enc,
                mime="image/jpeg",
                type=PictureType.COVER_FRONT,
                desc="Front cover",
                data=cover.data,
            )
        )
    id3.save(path, v2_version=4)


def _add_credits(id3: ID3, credits: tuple[tuple[str, str], ...]) -> None:
    """Credits into TIPL pairs and the roles' own frames (several names: several values)."""
    people: list[list[str]] = []
    own: dict[tuple[str, str], list[str]] = {}
    for role, name in credits:
        if role not in CREDIT_FRAMES:
            raise TaggingError(f"unknown credit role {role!r} (known: {sorted(CREDIT_FRAMES)})")
        frame, involvement = CREDIT_FRAMES[role]
        if not tag_text(name):
            continue
        if frame == "TIPL":
            people.append([involvement, tag_text(name)])
        else:
            own.setdefault((frame, involvement), []).append(tag_text(name))
    enc = 3
    if people:
        id3.add(TIPL(encoding=enc, people=people))
    frames = {"TEXT": TEXT, "TPE3": TPE3, "TPE4": TPE4}
    for (frame, desc), names in own.items():
        if frame == "TXXX":
            id3.add(TXXX(encoding=enc, desc=desc, text=names))
        else:
            id3.add(frames[frame](encoding=enc, text=names))


def find_ffmpeg() -> str | None:
    """Path of the ffmpeg executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def encode_mp3(src: Path, dst: Path, *, ffmpeg: str) -> None:
    """Encode `src` (FLAC or WAV) to a LAME V0 MP3 at `dst`, without tags (tag it afterwards).

    ffmpeg's MP3 muxer writes the Xing/LAME header with the encoder delay, so players that honour
    it play per-track MP3s gaplessly. Raises TaggingError with ffmpeg's message on failure.
    """
    cmd = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(src),
        "-map", "0:a:0", "-map_metadata", "-1",
        "-codec:a", "libmp3lame", "-q:a", "0",
        "-id3v2_version", "0", "-f", "mp3", str(dst),
    ]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip()[-500:]
        raise TaggingError(f"ffmpeg could not encode {src.name} to MP3: {message}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TaggingError(f"ffmpeg took over {FFMPEG_TIMEOUT_S} s to encode {src.name}") from exc
