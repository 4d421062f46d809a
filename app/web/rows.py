"""The rows several pages show (a project's card, a run, a song, a clip), built from catalog
objects through app/services. Each page module fills its own context with them. `session` is
the page's read session (`ReadSessionDep`), passed on to the services."""

from __future__ import annotations

from app.api.deps import ReadSessionDep
from app.catalog import Clip, Project, Run, Track
from app.presenters import clip_out
from app.services import clips, images, projects, runs, tracks
from app.storage import Storage
from app.web import graphics
from app.web.contexts import ClipRow, ProjectCard, RunRow, TrackRow

# (run id, epoch) -> validation NLL in bits (`app.services.runs.valid_nll_by_epoch`)
NllByEpoch = dict[tuple[int, int], float | None]


def project_card(session: ReadSessionDep, project: Project) -> ProjectCard:
    counts = projects.project_counts(session, project.id)
    cover = images.latest_cover_id(session, project.id)
    return ProjectCard(
        id=project.id, name=project.name, artist=project.artist, description=project.description,
        cover_url=f"/api/v1/images/{cover}" if cover else None,
        runs=counts.runs, clips=counts.clips, tracks=counts.tracks,
    )


def run_row(session: ReadSessionDep, run: Run) -> RunRow:
    plan = runs.plan_of(run)
    return RunRow(
        id=run.id, status=run.status, preset=plan.preset,
        epochs_done=run.current_epoch, epochs=plan.epochs,
        clips=clips.count_run_clips(session, run.id),
        created=run.created_at.isoformat(timespec="seconds"), job_id=run.job_id,
    )


def track_row(track: Track) -> TrackRow:
    s = tracks.summary(track)
    return TrackRow(
        id=track.id, name=track.name, revision=track.revision, items=s["items"],
        lanes=s["lanes"], duration_s=s["duration_s"],
    )


def clip_flags(clip: Clip) -> list[str]:
    """Warnings shown on a clip: clipping, near-silent, silent."""
    flags = []
    if clip.clipping and clip.clipping > 0.001:
        flags.append("clipping")
    if clip.silence_ratio is not None and clip.silence_ratio >= 0.5:
        flags.append("near-silent")
    if clip.loudness_lufs is None and clip.silence_ratio is not None and clip.silence_ratio >= 0.99:
        flags.append("silent")
    return flags


def clip_row(clip: Clip, storage: Storage, nll: NllByEpoch) -> ClipRow:
    out = clip_out(clip)
    v = nll.get((clip.run_id, clip.epoch))
    return ClipRow(
        id=clip.id, run_id=clip.run_id, epoch=clip.epoch, group=f"{clip.run_id}:{clip.epoch}",
        group_label=f"Run {clip.run_id} › epoch {clip.epoch}",
        group_nll=f"valid NLL {v:.3f} bits" if v is not None else "",
        index=clip.index, duration_s=clip.duration_s, loudness_lufs=clip.loudness_lufs,
        peak_dbfs=clip.peak_dbfs, silence_ratio=clip.silence_ratio, clipping=clip.clipping,
        rating=clip.rating, kept=clip.kept, tags=list(clip.tags or []), notes=clip.notes or "",
        thumb=graphics.thumbnail_for(storage.path(clip.peaks_path) if clip.peaks_path else None),
        audio_url=out.audio_url, peaks_url=out.peaks_url, editor_url=f"/clips/{clip.id}",
        flags=clip_flags(clip),
    )
