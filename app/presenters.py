"""Catalog rows as the API's JSON shapes (`app/schemas`), shared by the REST routes (`app/api`)
and the pages (`app/web`), which hand the same JSON to their scripts. Presenters read through
`app/services` like routes do; they never query the catalog themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.api.urls import API_PREFIX, clip_audio_url, clip_peaks_url, job_url, source_audio_url
from app.catalog import Album, Clip, Cover, Export, Title, Track
from app.schemas.albums import AlbumOut, AlbumTrackOut
from app.schemas.clips import ClipOut
from app.schemas.covers import CoverOut
from app.schemas.exports import ExportOut
from app.schemas.live_clips import LiveClipOut
from app.schemas.radio import GenerationOut, RadioOut
from app.schemas.titles import TitleOut
from app.schemas.tracks import TrackOut
from app.services import albums, covers, exports, titles, tracks
from app.services import radio as radios
from app.services.live_clips import LiveClip
from app.services.priming import primed_from

# -- clips --------------------------------------------------------------------------------------


def clip_out(clip: Clip) -> ClipOut:
    fields = {k: getattr(clip, k) for k in ClipOut.model_fields if hasattr(clip, k)}
    fields["audio_url"] = clip_audio_url(clip.id)
    fields["peaks_url"] = clip_peaks_url(clip.id) if clip.peaks_path else None
    analysis = clip.analysis or {}
    fields["flag_scores"] = analysis.get("scores")
    fields["style_distance"] = analysis.get("style_distance")
    fields["flags"] = list(clip.flags or [])
    fields["primed_from"] = primed_from(clip.provenance)
    if clip.closeness:
        source = int(clip.closeness["source_track_id"])
        fields["closeness"] = {**clip.closeness, "source_audio_url": source_audio_url(source)}
    return ClipOut.model_validate(fields)


# -- tracks -------------------------------------------------------------------------------------


def track_url(track_id: int) -> str:
    return f"{API_PREFIX}/tracks/{track_id}"


def track_audio_url(track_id: int, revision: int) -> str:
    # The revision is part of the URL: each revision's render is a different, cacheable file.
    return f"{track_url(track_id)}/audio?revision={revision}"


def track_out(track: Track) -> TrackOut:
    return TrackOut.model_validate(
        {
            "id": track.id,
            "project_id": track.project_id,
            "name": track.name,
            "revision": track.revision,
            "edl": track.edl,
            "duration_s": tracks.duration_of(track),
            "audio_url": track_audio_url(track.id, track.revision),
            "created_at": track.created_at,
            "updated_at": track.updated_at,
        }
    )


# -- titles -------------------------------------------------------------------------------------


def title_outs(session: Session, rows: Sequence[Title]) -> list[TitleOut]:
    seeds = titles.seeds_of(session, rows)
    return [
        TitleOut.model_validate(
            {
                "id": t.id, "project_id": t.project_id, "job_id": t.job_id, "text": t.text,
                "position": t.position, "seed": seeds.get(t.job_id) if t.job_id else None,
                "pinned": t.picked, "created_at": t.created_at, "updated_at": t.updated_at,
            }
        )
        for t in rows
    ]


# -- covers -------------------------------------------------------------------------------------


def cover_image_url(cover: Cover) -> str:
    # The stored key changes with every crop, so the URL does too and caches never go stale.
    return f"{API_PREFIX}/covers/{cover.id}/image?v={cover.path.rsplit('/', 1)[-1][:-4]}"


def cover_out(cover: Cover) -> CoverOut:
    return CoverOut.model_validate(
        {
            "id": cover.id, "project_id": cover.project_id, "job_id": cover.job_id,
            "method": cover.method, "picked": cover.picked, "image_url": cover_image_url(cover),
            "created_at": cover.created_at, "updated_at": cover.updated_at,
            **covers.cover_out_values(cover),
        }
    )


# -- albums and their exports -------------------------------------------------------------------


def album_out(session: Session, album: Album) -> AlbumOut:
    slots, total = albums.slots(session, album)
    cover = albums.album_cover(session, album)
    return AlbumOut.model_validate(
        {
            "id": album.id, "project_id": album.project_id, "title": album.title,
            "artist": album.artist, "cover_id": album.cover_id,
            "cover_url": cover_image_url(cover) if cover is not None else None,
            "tracks": [AlbumTrackOut.model_validate(s, from_attributes=True) for s in slots],
            "duration_s": total, "created_at": album.created_at, "updated_at": album.updated_at,
            "album_artist": album.album_artist, "release_date": album.release_date,
            "genre": album.genre, "label": album.label, "comment": album.comment,
            "upc": album.upc, "disc_number": album.disc_number, "disc_total": album.disc_total,
            "track_total": len(slots),
        }
    )


def export_out(session: Session, export: Export) -> ExportOut:
    state = exports.export_state(session, export)
    return ExportOut.model_validate(
        {
            "id": export.id, "album_id": export.album_id, "job_id": export.job_id,
            "formats": export.formats, "size_bytes": export.size_bytes,
            "filename": exports.download_name(export, session),
            "download_url": f"{API_PREFIX}/exports/{export.id}/download" if export.path else None,
            "created_at": export.created_at, "updated_at": export.updated_at, **state,
        }
    )


# -- radios -------------------------------------------------------------------------------------


def radio_url(radio_id: int) -> str:
    return f"{API_PREFIX}/radio/{radio_id}"


def radio_out(radio: radios.Radio) -> RadioOut:
    head, job, payload = radio.head, radio.job, radio.payload
    elapsed = radios.elapsed_s(head) if head is not None else 0.0
    generated = head.next * head.segment_s if head is not None else 0.0
    return RadioOut(
        id=radio.id, status=job.status, run_id=payload.run_id,
        checkpoint_id=payload.checkpoint_id, epoch=head.epoch if head else 0,
        temperature=payload.temperature, seed=payload.seed,
        on_air=radio.live and head is not None and job.status == "running",
        elapsed_s=round(elapsed, 3), buffered_s=round(max(0.0, generated - elapsed), 3),
        realtime_factor=None if head is None or head.rtf is None else round(head.rtf, 3),
        keeps_up=None if head is None else head.keeps_up,
        keep_max_s=0.0 if head is None else round((head.next - head.first) * head.segment_s, 3),
        sample_rate=None if head is None else head.sample_rate,
        message=job.message, error=job.error,
        generations=[
            GenerationOut(
                number=g.number, first_segment=g.first_segment, started_at=g.started_at,
                reason=g.reason,
            )
            for g in (head.generations if head else ())
        ],
        stream_url=f"{radio_url(radio.id)}/stream", page_url=f"/radio/{radio.id}",
        job_url=job_url(radio.id), created_at=job.created_at,
    )


# -- live clips ---------------------------------------------------------------------------------


def live_clip_url(checkpoint_id: int, index: int) -> str:
    return f"{API_PREFIX}/checkpoints/{checkpoint_id}/live-clips/{index}"


def live_clip_out(live: LiveClip) -> LiveClipOut:
    p = live.progress
    url = live_clip_url(p.checkpoint_id, p.index)
    return LiveClipOut(
        state="live", checkpoint_id=p.checkpoint_id, run_id=p.run_id, epoch=p.epoch,
        index=p.index, seed=p.seed, temperature=p.temperature, job_id=p.job_id,
        sample_rate=p.sample_rate, seconds=live.seconds, generated_s=live.generated_s,
        progress=min(1.0, p.samples / max(1, p.total_samples)), clip_id=None, url=url,
        stream_url=f"{url}/stream", peaks_url=f"{url}/peaks", keep_url=f"{url}/keep",
    )


def finished_live_clip_out(clip: Clip) -> LiveClipOut:
    """A live clip that has become `clip`."""
    url = live_clip_url(clip.checkpoint_id, clip.index)
    return LiveClipOut(
        state="finished", checkpoint_id=clip.checkpoint_id, run_id=clip.run_id,
        epoch=clip.epoch, index=clip.index, seed=clip.seed, temperature=clip.temperature,
        job_id=clip.job_id or 0, sample_rate=clip.sample_rate, seconds=clip.duration_s,
        generated_s=clip.duration_s, progress=1.0, clip_id=clip.id, url=url,
        stream_url=f"{url}/stream", peaks_url=f"{url}/peaks", keep_url=f"{url}/keep",
    )
