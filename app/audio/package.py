"""The release zip: tagged masters, cover, track list and provenance manifest (UX.md §4).

Layout (``NN`` is the track number, zero-padded to two digits or more)::

    Artist - Album (YYYY)/
      NN - Title.flac        24-bit masters as given, tagged, front cover embedded
      cover.jpg
      album.flac, album.cue  when "continuous" is asked for: the tracks back to back in one
                             file and its cue sheet (app/audio/cue.py)
      mp3/NN - Title.mp3     when "mp3" is asked for and ffmpeg is installed (ID3v2.4 + APIC)
      distributor/NN.wav     when "wav" is asked for: untagged, 16-bit (dithered) or 24-bit
      tracklist.txt          start time and length of every track
      manifest.json          the caller's manifest + "files" (name, bytes, sha256) + "notes"

Every name comes from `app.audio.names.safe_name`, so hostile titles cannot escape the folder.
Files are streamed into the zip one by one (ZIP64 when large), into a hidden temporary file that
is renamed onto `out_path` at the end; on any error nothing is left behind. Members carry a fixed
timestamp, so the same inputs give the same zip, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from app.audio import cue
from app.audio.master import write_wav
from app.audio.names import safe_name
from app.audio.tags import CoverArt, TrackTags, encode_mp3, find_ffmpeg, tag_flac, tag_mp3, tag_text

FORMATS = frozenset({"flac", "mp3", "wav", "continuous"})
NO_FFMPEG_NOTE = "MP3 listening copies were not made: ffmpeg is not installed on the export worker."
COPY_CHUNK = 1 << 20
_AUTO = "auto"
DateTime = tuple[int, int, int, int, int, int]


class PackageError(ValueError):
    """Inputs that cannot make a release; the message says which and why."""


@dataclass(frozen=True)
class AlbumMeta:
    title: str
    artist: str
    year: int | None = None
    album_artist: str = ""  # defaults to `artist`
    date: str = ""  # defaults to `year`
    genre: str = ""
    comment: str = ""  # written into every file's COMMENT (e.g. a provenance line)
    label: str = ""
    barcode: str = ""  # UPC/EAN digits
    disc_number: int | None = None
    disc_total: int | None = None


@dataclass(frozen=True)
class ReleaseTrack:
    title: str
    flac_path: Path  # the mastered track (e.g. `master.write_flac`); copied, never modified
    comment: str = ""  # per-track provenance; the album comment when empty
    composer: str = ""
    isrc: str = ""
    credits: tuple[tuple[str, str], ...] = ()  # (role, name): app/audio/tags.py CREDIT_FRAMES
    gap_after: int = 0  # samples of silence the join after this track put at its file's end


@dataclass(frozen=True)
class ReleaseResult:
    path: Path
    members: list[str]
    notes: list[str]
    manifest: dict[str, Any] = field(repr=False)


def release_folder(album: AlbumMeta) -> str:
    """``Artist - Album (YYYY)`` as a safe name."""
    year = f" ({album.year})" if album.year else ""
    return safe_name(f"{album.artist} - {album.title}{year}", fallback="Album")


def track_file_name(number: int, total: int, title: str, ext: str) -> str:
    """``NN - Title.ext`` as a safe name (``Track N`` when the title is empty)."""
    nn = str(number).zfill(max(2, len(str(total))))
    return safe_name(f"{nn} - {safe_name(title, fallback=f'Track {number}')}", ext=ext)


def build_release_zip(
    out_path: Path,
    album: AlbumMeta,
    tracks: Sequence[ReleaseTrack],
    cover_jpeg_path: Path | None,
    manifest: Mapping[str, Any],
    *,
    formats: Collection[str] = ("flac",),
    wav_bits: int = 24,
    ffmpeg: str | None = _AUTO,
) -> ReleaseResult:
    """Write the release zip of `tracks` to `out_path` (see the module docstring for the layout).

    `formats`: "flac" is always included; "mp3" adds listening copies when ffmpeg is found
    (`ffmpeg="auto"` looks it up on PATH; None means absent) and otherwise adds a note to the
    manifest; "wav" adds untagged distributor WAVs of `wav_bits` (16 or 24). Returns the member
    names, the notes and the manifest as written.
    """
    out_path = Path(out_path)
    unknown = set(formats) - FORMATS
    if unknown:
        raise PackageError(f"unknown export formats: {sorted(unknown)} (known: {sorted(FORMATS)})")
    if not tracks:
        raise PackageError("a release needs at least one track")
    if wav_bits not in (16, 24):
        raise PackageError(f"wav_bits must be 16 or 24, got {wav_bits}")
    for track in tracks:
        if not Path(track.flac_path).is_file():
            raise PackageError(f"track “{track.title}”: no file at {track.flac_path}")
    cover = CoverArt.from_jpeg(cover_jpeg_path) if cover_jpeg_path is not None else None
    notes: list[str] = [] if cover else ["No cover image was given."]
    ffmpeg_path = find_ffmpeg() if ffmpeg == _AUTO else ffmpeg
    if "mp3" in formats and ffmpeg_path is None:
        notes.append(NO_FFMPEG_NOTE)

    folder = release_folder(album)
    total = len(tracks)
    tmp_zip = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.part")
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=out_path.parent))
    final_manifest: dict[str, Any] = dict(manifest)
    try:
        files: list[tuple[str, Path]] = []  # (member name, staged file), in zip order
        mp3s: list[tuple[str, Path]] = []
        wavs: list[tuple[str, Path]] = []
        lengths: list[int] = []
        for number, track in enumerate(tracks, start=1):
            staged = staging / f"{number:04d}.flac"
            shutil.copyfile(track.flac_path, staged)
            tags = _track_tags(album, track, number, total)
            tag_flac(staged, tags, cover)
            files.append(
                (f"{folder}/{track_file_name(number, total, track.title, '.flac')}", staged)
            )
            lengths.append(sf.info(str(staged)).frames)
            if "mp3" in formats and ffmpeg_path is not None:
                mp3 = staging / f"{number:04d}.mp3"
                encode_mp3(staged, mp3, ffmpeg=ffmpeg_path)
                tag_mp3(mp3, tags, cover)
                mp3s.append(
                    (f"{folder}/mp3/{track_file_name(number, total, track.title, '.mp3')}", mp3)
                )
            if "wav" in formats:
                wav = staging / f"{number:04d}.wav"
                _distributor_wav(staged, wav, bits=wav_bits, seed=number)
                wavs.append((f"{folder}/distributor/{str(number).zfill(2)}.wav", wav))
        if cover is not None:
            cover_file = staging / "cover.jpg"
            cover_file.write_bytes(cover.data)
            files.append((f"{folder}/cover.jpg", cover_file))
        spans = _cue_tracks(album, tracks, lengths)
        rate = sf.info(str(files[0][1])).samplerate
        if "continuous" in formats:
            files += _continuous(staging, folder, album, [p for _, p in files[:total]], spans,
                                 rate, cover)
        files += mp3s + wavs
        tracklist = staging / "tracklist.txt"
        tracklist.write_text(
            cue.tracklist(_heading(album), spans, rate, continuous="continuous" in formats),
            encoding="utf-8",
        )
        files.append((f"{folder}/tracklist.txt", tracklist))

        date_time: DateTime = (
            (album.year, 1, 1, 0, 0, 0)
            if album.year and 1980 <= album.year <= 2107
            else (1980, 1, 1, 0, 0, 0)
        )
        written: list[dict[str, Any]] = []
        with zipfile.ZipFile(tmp_zip, "w", allowZip64=True) as zf:
            for name, path in files:
                written.append(_add(zf, name, path, date_time))
            final_manifest["notes"] = [*manifest.get("notes", []), *notes]
            final_manifest["files"] = written
            manifest_file = staging / "manifest.json"
            manifest_file.write_text(
                json.dumps(final_manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            _add(zf, f"{folder}/manifest.json", manifest_file, date_time)
        os.replace(tmp_zip, out_path)
    finally:
        tmp_zip.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    members = [name for name, _ in files] + [f"{folder}/manifest.json"]
    return ReleaseResult(path=out_path, members=members, notes=notes, manifest=final_manifest)


def _track_tags(album: AlbumMeta, track: ReleaseTrack, number: int, total: int) -> TrackTags:
    return TrackTags(
        title=tag_text(track.title) or f"Track {number}",
        artist=album.artist,
        album=album.title,
        album_artist=album.album_artist or album.artist,
        track_number=number,
        track_total=total,
        date=_date(album),
        comment=track.comment or album.comment,
        genre=album.genre,
        disc_number=album.disc_number,
        disc_total=album.disc_total,
        isrc=track.isrc,
        composer=track.composer,
        label=album.label,
        barcode=album.barcode,
        credits=track.credits,
    )


def _date(album: AlbumMeta) -> str:
    return album.date or (str(album.year) if album.year else "")


def _heading(album: AlbumMeta) -> str:
    year = f" ({album.year})" if album.year else ""
    return f"{tag_text(album.artist)} - {tag_text(album.title)}{year}"


def _cue_tracks(
    album: AlbumMeta, tracks: Sequence[ReleaseTrack], lengths: Sequence[int]
) -> list[cue.CueTrack]:
    placed = cue.layout(lengths, [t.gap_after for t in tracks])
    return [
        cue.CueTrack(
            number=n, title=tag_text(t.title) or f"Track {n}", performer=album.artist,
            start=start, length=length, gap_start=gap_start, songwriter=t.composer, isrc=t.isrc,
        )
        for n, (t, (start, length, gap_start)) in enumerate(zip(tracks, placed, strict=True), 1)
    ]


def _continuous(
    staging: Path, folder: str, album: AlbumMeta, flacs: Sequence[Path],
    spans: Sequence[cue.CueTrack], rate: int, cover: CoverArt | None,
) -> list[tuple[str, Path]]:
    """album.flac (tagged as the album, one file) and album.cue, as (member, staged file)."""
    joined = cue.write_continuous(flacs, staging / cue.CONTINUOUS_NAME)
    artist = album.album_artist or album.artist
    tag_flac(joined, TrackTags(
        title=album.title, artist=album.artist, album=album.title, album_artist=artist,
        track_number=1, track_total=1, date=_date(album), comment=album.comment,
        genre=album.genre, disc_number=album.disc_number, disc_total=album.disc_total,
        label=album.label, barcode=album.barcode,
    ), cover)
    sheet = staging / cue.CUE_NAME
    meta = cue.CueAlbum(
        title=album.title, performer=artist, date=_date(album), genre=album.genre,
        comment=album.comment, label=album.label, barcode=album.barcode,
        disc_number=album.disc_number, disc_total=album.disc_total,
    )
    sheet.write_text(cue.cue_sheet(meta, spans, rate), encoding="utf-8", newline="")
    return [(f"{folder}/{cue.CONTINUOUS_NAME}", joined), (f"{folder}/{cue.CUE_NAME}", sheet)]


def _distributor_wav(flac: Path, wav: Path, *, bits: int, seed: int) -> None:
    if bits == 24 and sf.info(flac).subtype == "PCM_24":
        data, sr = sf.read(flac, dtype="int32", always_2d=True)  # lossless: same 24-bit words
        sf.write(wav, data, sr, format="WAV", subtype="PCM_24")
        return
    data, sr = sf.read(flac, dtype="float64", always_2d=True)
    write_wav(wav, data.T, sr, bits=bits, seed=seed)


def _add(zf: zipfile.ZipFile, name: str, path: Path, date_time: DateTime) -> dict[str, Any]:
    """Stream `path` into the zip as `name`; return its manifest entry."""
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = (
        zipfile.ZIP_DEFLATED if name.endswith((".txt", ".json", ".cue")) else zipfile.ZIP_STORED
    )
    info.external_attr = 0o644 << 16
    size = path.stat().st_size
    info.file_size = size  # lets zipfile choose ZIP64 up front for files over 2 GiB
    digest = hashlib.sha256()
    with (
        open(path, "rb") as src,
        zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst,
    ):
        while block := src.read(COPY_CHUNK):
            digest.update(block)
            dst.write(block)
    return {"name": name, "bytes": size, "sha256": digest.hexdigest()}
