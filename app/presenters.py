"""Catalog rows as the API's JSON shapes (`app/schemas`), shared by the REST routes (`app/api`)
and the pages (`app/web`), which hand the same JSON to their scripts. Presenters read through
`app/services` like routes do; they never query the catalog themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.api.urls import API_PREFIX, clip_audio_url, clip_peaks_url, source_audio_url
from app.catalog import Album, Clip, Cover, Export, Title, Track
from app.schemas.albums import AlbumOut, AlbumTrackOut
from app.schemas.clips import ClipOut
from app.schemas.covers import CoverOut
from app.schemas.exports import ExportOut
from app.schemas.titles import TitleOut
from app.schemas.tracks import TrackOut
from app.services import albums, covers, exports, titles, tracks

# -- clips --------------------------------------------------------------------------------------


def clip_out(clip: Clip) -> ClipOut:
    fields = {k: getattr(clip, k) for k in ClipOut.model_fields if hasattr(clip, k)}
    fields["audio_url"] = clip_audio_url(clip.id)
    fields["peaks_url"] = clip_peaks_url(clip.id) if clip.peaks_path else None
    analysis = clip.analysis or {}
    fields["flag_scores"] = analysis.get("scores")
    fields["style_distance"] = analysis.get("style_distance")
    fields["flags"] = list(clip.flags or [])
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
