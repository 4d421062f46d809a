"""The continuous edition of a release: `album.flac` (the mastered tracks back to back, gaps and
crossfades as sequenced), its `album.cue`, and the start times in `tracklist.txt`.

The tracks of a release are cut so that playing the files one after the other gives the album's
flow (app/services/albums.py `assemble`): a gap is silence at the end of the track before it, a
crossfade is mixed into the end of the track before it. So in the continuous file track n starts
(``INDEX 01``) where the files before it end, and where a gap precedes it, ``INDEX 00`` marks
where that silence begins (it is in the file, so no ``PREGAP``, which would ask a player or burner
to add silence that is not there). Splitting `album.flac` at the ``INDEX 01`` points gives back
the track files, sample for sample.

Cue times are ``mm:ss:ff`` with 75 frames per second (GNU ccd2cue manual): a sample position is
given as the nearest frame (588 samples at 44.1 kHz), so an INDEX is within half a frame
(6.7 ms) of the sample where the track starts. ``INDEX`` lines come after ``TITLE``,
``PERFORMER``, ``SONGWRITER`` and ``ISRC`` in each track (some players read them in order).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from app.audio.tags import tag_text

FRAMES_PER_S = 75
CONTINUOUS_NAME = "album.flac"
CUE_NAME = "album.cue"
BLOCK = 1 << 18  # samples per read while concatenating


@dataclass(frozen=True)
class CueTrack:
    """One track of the continuous file; positions in samples from its start."""

    number: int
    title: str
    performer: str
    start: int  # INDEX 01
    length: int  # samples of this track's file (its trailing gap included)
    gap_start: int | None = None  # INDEX 00: where the silence before it begins
    songwriter: str = ""
    isrc: str = ""


@dataclass(frozen=True)
class CueAlbum:
    title: str
    performer: str  # the album artist
    date: str = ""
    genre: str = ""
    comment: str = ""
    label: str = ""
    barcode: str = ""  # UPC-A or EAN-13 digits
    disc_number: int | None = None
    disc_total: int | None = None


def layout(
    lengths: Sequence[int], gaps_after: Sequence[int]
) -> list[tuple[int, int, int | None]]:
    """(start, length, gap start or None) of each of the files played back to back.

    `lengths[i]`: samples of file i; `gaps_after[i]`: samples of silence the join after track i
    added at the end of file i (0 for a crossfade or no gap; the last one is ignored).
    """
    out: list[tuple[int, int, int | None]] = []
    start = 0
    for i, length in enumerate(lengths):
        gap = gaps_after[i - 1] if i > 0 else 0
        out.append((start, length, start - gap if gap > 0 else None))
        start += length
    return out


def frames(sample: int, sample_rate: int) -> int:
    """The cue frame (1/75 s) nearest to `sample`, in exact integer arithmetic."""
    return (2 * sample * FRAMES_PER_S + sample_rate) // (2 * sample_rate)


def msf(frame: int) -> str:
    """``mm:ss:ff`` (minutes may pass 99, as cue readers accept)."""
    seconds, ff = divmod(frame, FRAMES_PER_S)
    return f"{seconds // 60:02d}:{seconds % 60:02d}:{ff:02d}"


def cue_sheet(album: CueAlbum, tracks: Sequence[CueTrack], sample_rate: int) -> str:
    """The text of `album.cue` for `CONTINUOUS_NAME` (UTF-8, CRLF line ends as cue files have)."""
    lines = []
    if album.genre:
        lines.append(f"REM GENRE {_quoted(album.genre)}")
    if album.date:
        lines.append(f"REM DATE {album.date[:4]}")  # readers expect the year (EAC writes it)
    if album.label:
        lines.append(f"REM LABEL {_quoted(album.label)}")
    if album.comment:
        lines.append(f"REM COMMENT {_quoted(album.comment)}")
    if album.disc_number is not None:
        lines.append(f"REM DISCNUMBER {album.disc_number}")
    if album.disc_total is not None:
        lines.append(f"REM TOTALDISCS {album.disc_total}")
    if album.barcode:
        lines.append(f"CATALOG {album.barcode.zfill(13)}")  # EAN-13; a UPC-A gets a leading 0
    lines += [
        f"PERFORMER {_quoted(album.performer)}",
        f"TITLE {_quoted(album.title)}",
        f'FILE "{CONTINUOUS_NAME}" WAVE',
    ]
    for t in tracks:
        lines += [
            f"  TRACK {t.number:02d} AUDIO",
            f"    TITLE {_quoted(t.title)}",
            f"    PERFORMER {_quoted(t.performer)}",
        ]
        if t.songwriter:
            lines.append(f"    SONGWRITER {_quoted(t.songwriter)}")
        if t.isrc:
            lines.append(f"    ISRC {t.isrc}")
        index01 = frames(t.start, sample_rate)
        if t.gap_start is not None and frames(t.gap_start, sample_rate) < index01:
            lines.append(f"    INDEX 00 {msf(frames(t.gap_start, sample_rate))}")
        lines.append(f"    INDEX 01 {msf(index01)}")
    return "\r\n".join(lines) + "\r\n"


def tracklist(
    heading: str, tracks: Sequence[CueTrack], sample_rate: int, *, continuous: bool
) -> str:
    """`tracklist.txt`: each track's start (the cue's INDEX 01 time) and length."""
    width = max(2, len(str(len(tracks))))
    where = (
        f"in {CONTINUOUS_NAME} ({CUE_NAME} has the same times)"
        if continuous
        else "when the track files are played one after the other"
    )
    lines = [
        heading,
        "",
        f"Start: where each track begins {where},",
        f"as minutes:seconds:frames ({FRAMES_PER_S} frames per second). Length: of the track's",
        "file, with the gap after it.",
        "",
        f"{'#'.rjust(width)}  start     length  title",
    ]
    for t in tracks:
        lines.append(
            f"{str(t.number).zfill(width)}  {msf(frames(t.start, sample_rate))}  "
            f"{clock(t.length / sample_rate):>6}  {t.title}"
        )
    total = sum(t.length for t in tracks) / sample_rate
    lines += ["", f"Total {clock(total)}"]
    return "\n".join(lines) + "\n"


def clock(seconds: float) -> str:
    s = round(seconds)
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def write_continuous(flacs: Sequence[Path], dest: Path) -> Path:
    """`flacs` (same rate, channels and subtype) concatenated into one FLAC at `dest`, sample for
    sample (integer samples copied, never re-quantised), in bounded memory. Temp name, renamed."""
    if not flacs:
        raise ValueError("no tracks to join")
    first = sf.info(str(flacs[0]))
    for path in flacs[1:]:
        info = sf.info(str(path))
        if (info.samplerate, info.channels, info.subtype) != (
            first.samplerate, first.channels, first.subtype
        ):
            raise ValueError(f"{path.name} is not in the format of {flacs[0].name}")
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        with sf.SoundFile(
            str(tmp), "w", samplerate=first.samplerate, channels=first.channels,
            format="FLAC", subtype=first.subtype,
        ) as out:
            for path in flacs:
                with sf.SoundFile(str(path)) as src:
                    while True:
                        block = src.read(BLOCK, dtype="int32", always_2d=True)
                        if not len(block):
                            break
                        out.write(block)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _quoted(text: str) -> str:
    """A cue string: one line, double quotes (which cue strings cannot escape) made single."""
    return '"' + " ".join(tag_text(text, lines=True).split()).replace('"', "'") + '"'
