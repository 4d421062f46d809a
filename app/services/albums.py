"""Albums: an ordered list of tracks (songs) under titles, with a gap or a crossfade after each,
plus the album's title, artist and cover. Also the sequencing of rendered tracks into what the
release holds, the pre-export check, and "play transition".

The join after a track is stored in `AlbumTrack.gap_s`: a gap of silence when ≥ 0, a crossfade
of `-gap_s` seconds into the next track when negative (no extra column needed).

Sequencing (`assemble`), used by the check, the transition preview and the export alike: a gap
is appended to the end of its track as silence; a crossfade of X overlaps the last X of track n
(fading out) with the first X of track n+1 (fading in) using equal-power ramps, the mix closing
track n and track n+1 starting after it. Played back to back, the files give the album's flow.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audio.edl import ClipId, EdlError
from app.audio.master import TrackToCheck, check_tracks
from app.audio.render import equal_power_fade_in, render_track
from app.audio.timeline import to_samples
from app.catalog import Album, AlbumTrack, Cover, Export, Track, utcnow
from app.schemas.albums import DEFAULT_GAP_MS, AlbumIn
from app.services import release_meta, track_renders, tracks
from app.services.errors import DomainError, InvalidInput, NotFound
from app.services.projects import get_project
from app.services.release_meta import TrackMeta, duplicate_isrcs
from app.services.release_meta import clean_text as clean_text  # titles take it from here
from app.storage import Storage

TRANSITION_S = 10.0  # "play transition": this much of each side
PREVIEW_RATE = tracks.RENDER_RATE


@dataclass(frozen=True)
class Slot:
    """One track of an album as the timeline shows it (seconds)."""

    number: int
    track_id: int
    track_name: str
    revision: int
    title: str
    gap_ms: int | None
    crossfade_ms: int | None
    duration_s: float
    start_s: float
    composer: str = ""
    isrc: str = ""
    credits: tuple[dict[str, str], ...] = ()


# -- CRUD ---------------------------------------------------------------------------------------


def create_album(session: Session, project_id: int, data: AlbumIn) -> Album:
    get_project(session, project_id)
    album = Album(project_id=project_id)
    _apply(session, album, data)
    session.add(album)
    session.commit()
    return album


def list_albums(session: Session, project_id: int) -> list[Album]:
    get_project(session, project_id)
    query = select(Album).where(Album.project_id == project_id).order_by(Album.id)
    return list(session.scalars(query))


def get_album(session: Session, album_id: int) -> Album:
    album = session.get(Album, album_id)
    if album is None:
        raise NotFound("album", album_id)
    return album


def replace_album(session: Session, album_id: int, data: AlbumIn) -> Album:
    """PUT: the album becomes exactly `data` (title, artist, cover, track list)."""
    album = get_album(session, album_id)
    session.execute(delete(AlbumTrack).where(AlbumTrack.album_id == album.id))
    session.expire(album, ["items"])
    _apply(session, album, data)
    album.updated_at = utcnow()
    session.commit()
    session.refresh(album)
    return album


def delete_album(session: Session, storage: Storage, album_id: int) -> None:
    """Delete the album, its exports (rows and zips) and its cached transition previews."""
    album = get_album(session, album_id)
    folder = storage.path(_folder(album.project_id, album.id))
    zips = session.scalars(
        select(Export.path).where(Export.album_id == album.id, Export.path.is_not(None))
    ).all()
    session.delete(album)
    session.commit()
    # After the commit: a failure leaves files, never rows pointing at missing files.
    shutil.rmtree(folder, ignore_errors=True)
    for key in zips:
        if key:
            storage.delete(key)


def _apply(session: Session, album: Album, data: AlbumIn) -> None:
    """Check `data` against the project and set the cover and track list (no commit)."""
    project_id = album.project_id
    if data.cover_id is not None:
        cover = session.get(Cover, data.cover_id)
        if cover is None or cover.project_id != project_id:
            raise InvalidInput(f"cover {data.cover_id} is not a cover of this project",
                               field="cover_id")
    wanted = {t.track_id for t in data.tracks}
    found = set(
        session.scalars(
            select(Track.id).where(Track.project_id == project_id, Track.id.in_(wanted))
        )
    )
    missing = [
        {
            "loc": ["body", "tracks", i, "track_id"],
            "msg": f"track {t.track_id} is not in this project",
        }
        for i, t in enumerate(data.tracks)
        if t.track_id not in found
    ]
    if missing:
        raise InvalidInput(f"unknown tracks: {missing[0]['msg']}", errors=missing)
    album.title, album.artist = clean_text(data.title), clean_text(data.artist)
    if not album.title or not album.artist:
        raise InvalidInput("an album needs a title and an artist that are not blank")
    album.cover_id = data.cover_id
    release_meta.apply_album(album, data)
    album.items = [
        AlbumTrack(
            position=i,
            track_id=t.track_id,
            title=clean_text(t.title),
            gap_s=join_seconds(t.gap_ms, t.crossfade_ms),
            **release_meta.track_fields(t),
        )
        for i, t in enumerate(data.tracks)
    ]


def join_seconds(gap_ms: int | None, crossfade_ms: int | None) -> float:
    """The stored join: seconds of gap (≥ 0) or minus the crossfade length."""
    if crossfade_ms is not None:
        return -crossfade_ms / 1000.0
    return (DEFAULT_GAP_MS if gap_ms is None else gap_ms) / 1000.0


def join_ms(gap_s: float) -> tuple[int | None, int | None]:
    """(gap_ms, crossfade_ms) of a stored join; exactly one is not None."""
    ms = round(gap_s * 1000.0)
    return (None, -ms) if ms < 0 else (ms, None)


def slots(session: Session, album: Album) -> tuple[list[Slot], float]:
    """The album's tracks with durations and where each starts, and the total length (s)."""
    ids = [item.track_id for item in album.items]
    rows = {t.id: t for t in session.scalars(select(Track).where(Track.id.in_(ids)))}
    durations = [tracks.duration_of(rows[i]) for i in ids]
    out: list[Slot] = []
    start = 0.0
    for k, item in enumerate(album.items):
        gap_ms, crossfade_ms = join_ms(item.gap_s)
        track = rows[item.track_id]
        out.append(
            Slot(
                number=k + 1, track_id=track.id, track_name=track.name, revision=track.revision,
                title=item.title, gap_ms=gap_ms, crossfade_ms=crossfade_ms,
                duration_s=durations[k], start_s=round(start, 6),
                composer=item.composer, isrc=item.isrc, credits=tuple(item.credits or ()),
            )
        )
        if k + 1 < len(durations):
            overlap = min(-item.gap_s, durations[k], durations[k + 1]) if item.gap_s < 0 else 0.0
            start += durations[k] + max(item.gap_s, 0.0) - overlap
    total = start + durations[-1] if durations else 0.0
    return out, round(total, 6)


# -- sequencing ---------------------------------------------------------------------------------


def assemble(
    audios: Sequence[np.ndarray], joins: Sequence[float], sample_rate: int
) -> list[np.ndarray]:
    """Apply the joins between consecutive tracks (see the module docstring).

    `audios`: channels-first float arrays [C x n] at `sample_rate`; `joins[i]` is the join after
    track i in seconds (gap ≥ 0, crossfade < 0); the last one is ignored. Returns new float32
    arrays; a crossfade never takes more than either track holds.
    """
    out = [np.asarray(a, dtype=np.float32) for a in audios]
    for i in range(len(out) - 1):
        join = joins[i]
        if join > 0:
            silence = np.zeros((out[i].shape[0], to_samples(join, sample_rate)), dtype=np.float32)
            out[i] = np.concatenate([out[i], silence], axis=1)
        elif join < 0:
            n = min(to_samples(-join, sample_rate), out[i].shape[1], out[i + 1].shape[1])
            if n > 0:
                ramp = equal_power_fade_in(n)
                mixed = out[i][:, -n:] * ramp[::-1] + out[i + 1][:, :n] * ramp
                out[i] = np.concatenate([out[i][:, :-n], mixed.astype(np.float32)], axis=1)
                out[i + 1] = out[i + 1][:, n:]
    return out


# -- rendering ----------------------------------------------------------------------------------


def clip_loader(files: dict[ClipId, Path]) -> Callable[[ClipId], tuple[np.ndarray, int]]:
    """`load_clip` for `render_track` over `files`, reading each clip once (mono: channels
    averaged, as the tracks service does)."""
    cache: dict[ClipId, tuple[np.ndarray, int]] = {}

    def load(clip_id: ClipId) -> tuple[np.ndarray, int]:
        if clip_id not in cache:
            audio, rate = sf.read(files[clip_id], dtype="float32", always_2d=True)
            cache[clip_id] = (audio.mean(axis=1), int(rate))
        return cache[clip_id]

    return load


def native_rate(files: dict[ClipId, Path]) -> int:
    """The highest sample rate among the clips (checks run there: no resampling blurs a
    clipped flat top)."""
    return max((sf.info(str(p)).samplerate for p in files.values()), default=PREVIEW_RATE)


def read_render(path: Path) -> np.ndarray:
    audio, _ = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.T)


# -- the pre-export check -----------------------------------------------------------------------


def album_problems(
    *,
    has_cover: bool,
    titles: Sequence[str],
    audios: Sequence[np.ndarray | None],
    joins: Sequence[float],
    sample_rate: int,
    track_problems: Sequence[str] = (),
) -> list[str]:
    """Readable problems of an album whose track renders are `audios` (None: could not render,
    with the reason in `track_problems`). Tracks are checked as they will be released, i.e.
    after `assemble`."""
    problems = [] if has_cover else ["The album has no cover: pick one."]
    if not audios:
        return problems + ["The album has no tracks."]
    problems += list(track_problems)
    rendered = [(i, a) for i, a in enumerate(audios) if a is not None]
    sequenced = assemble([a for _, a in rendered], [joins[i] for i, _ in rendered], sample_rate)
    for (i, _), audio in zip(rendered, sequenced, strict=True):
        # One track per call: check_tracks names it "Track 1"; give it its album number.
        for problem in check_tracks([TrackToCheck(titles[i], audio, sample_rate)]):
            problems.append(f"Track {i + 1}{problem.removeprefix('Track 1')}")
    return problems


def check_release(
    session: Session, storage: Storage, album_id: int
) -> tuple[list[str], list[str]]:
    """(problems, warnings): `check_album`'s problems, and the metadata a distributor asks for
    that the album does not give (app/services/release_meta.py)."""
    warnings = release_meta.album_warnings(get_album(session, album_id))
    return check_album(session, storage, album_id), warnings


def check_album(session: Session, storage: Storage, album_id: int) -> list[str]:
    """Render every track (float, at its clips' rate) and list what a distributor would refuse:
    tracks under 30 s, over 10 s of silence at either end, clipping, missing titles, no cover,
    an ISRC given to two tracks."""
    album = get_album(session, album_id)
    has_cover = album.cover_id is not None
    shared_isrcs = duplicate_isrcs([TrackMeta(i.composer, i.isrc) for i in album.items])
    items = [(item.track_id, item.title, item.gap_s) for item in album.items]
    session.rollback()
    jobs: list[track_renders.RenderJob | None] = []
    problems: list[str] = []
    for number, (track_id, title, _) in enumerate(items, start=1):
        try:
            jobs.append(track_renders.render_job(session, storage, track_id))
        except DomainError as exc:
            jobs.append(None)
            problems.append(f"Track {number}{_quoted(title)} cannot be rendered: {exc.message}")
    files = {k: v for job in jobs if job is not None for k, v in job.clip_files.items()}
    rate = native_rate(files)
    load = clip_loader(files)
    audios: list[np.ndarray | None] = []
    for number, job in enumerate(jobs, start=1):
        try:
            audios.append(None if job is None else render_track(job.edl, load, sample_rate=rate))
        except EdlError as exc:
            audios.append(None)
            name = _quoted(items[number - 1][1])
            problems.append(f"Track {number}{name} cannot be rendered: {exc}")
    return album_problems(
        has_cover=has_cover, titles=[t for _, t, _ in items], audios=audios,
        joins=[j for _, _, j in items], sample_rate=rate, track_problems=problems,
    ) + shared_isrcs


def _quoted(title: str) -> str:
    return f" “{title.strip()}”" if title.strip() else ""


# -- play transition ----------------------------------------------------------------------------


def transition_file(session: Session, storage: Storage, album_id: int, number: int) -> Path:
    """A WAV (16-bit, 44.1 kHz stereo) of the last 10 s of track `number` (1-based) joined to
    the first 10 s of the next, as the album plays them. Cached per tracks' revisions and join."""
    album = get_album(session, album_id)
    if not 1 <= number < len(album.items):
        raise NotFound(f"transition of album {album_id}", number)
    a, b = album.items[number - 1], album.items[number]
    project_id, join = album.project_id, a.gap_s
    session.rollback()
    renders = [track_renders.render_job(session, storage, t) for t in (a.track_id, b.track_id)]
    spec = json.dumps([[r.track_id, r.revision] for r in renders] + [join, TRANSITION_S])
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    key = f"{_folder(project_id, album_id)}/transition-{number}-{digest}.wav"
    dest = storage.path(key)
    if dest.is_file():
        return dest
    keep = to_samples(TRANSITION_S, PREVIEW_RATE)
    tail, head = (read_render(track_renders.rendered_file(storage, r)) for r in renders)
    tail, head = assemble([tail[:, -keep:], head[:, :keep]], [join, 0.0], PREVIEW_RATE)
    audio = np.concatenate([tail, head], axis=1)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    tmp = storage.temp_path(".wav")
    try:
        sf.write(tmp, pcm.T, PREVIEW_RATE, subtype="PCM_16", format="WAV")
        return storage.put(tmp, key)
    finally:
        tmp.unlink(missing_ok=True)


def _folder(project_id: int, album_id: int) -> str:
    return f"projects/{int(project_id)}/albums/{int(album_id)}"


# -- reads for the pages and presenters ---------------------------------------------------------


def album_cover(session: Session, album: Album) -> Cover | None:
    """The album's chosen cover, or None when it has none (or the row is gone)."""
    return session.get(Cover, album.cover_id) if album.cover_id is not None else None
