"""The rows several pages show (a project's card, a run, a song, a clip), built from catalog
objects through app/services. Each page module fills its own context with them. `session` is
the page's read session (`ReadSessionDep`), passed on to the services."""

from __future__ import annotations

from app.api.deps import ReadSessionDep
from app.catalog import Clip, Project, Run, Track
from app.presenters import clip_out
from app.schemas.clips import ClipOut
from app.services import clips, images, projects, runs, tracks
from app.storage import Storage
from app.web import graphics
from app.web.contexts import Badge, ClipRow, ProjectCard, RunRow, SourceMoment, TrackRow
from model.pathology import HARD_FLAGS

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


def level_warnings(clip: Clip) -> list[Badge]:
    """What the levels alone say about a clip not analysed yet: clipping, near-silent, silent."""
    badges = []
    if clip.clipping and clip.clipping > 0.001:
        reason = f"{clip.clipping:.2%} of the samples hit full scale"
        badges.append(Badge("clipping", reason, False))
    if clip.silence_ratio is not None and clip.silence_ratio >= 0.5:
        badges.append(Badge("near-silent", f"{clip.silence_ratio:.0%} below -50 dBFS", False))
    if clip.loudness_lufs is None and clip.silence_ratio is not None and clip.silence_ratio >= 0.99:
        badges.append(Badge("silent", "no measurable loudness", True))
    return badges


def clip_badges(clip: Clip) -> list[Badge]:
    """The clip's raised flags with their reasons, hard ones first; level warnings until the
    clip is analysed."""
    if clip.flag_mask is None:
        return level_warnings(clip)
    badges = [Badge(f["name"], f["reason"], f["name"] in HARD_FLAGS) for f in clip.flags or []]
    return sorted(badges, key=lambda b: not b.hard)


def source_moment(out: ClipOut) -> SourceMoment | None:
    c = out.closeness
    if c is None:
        return None
    return SourceMoment(
        track_id=c.source_track_id, name=c.source_name, source_offset_s=c.source_offset_s,
        clip_offset_s=c.clip_offset_s, seconds_matched=c.seconds_matched,
        longest_run_s=c.longest_run_s, copied=c.copied, audio_url=c.source_audio_url,
    )


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
        badges=clip_badges(clip), quality=clip.quality, source=source_moment(out),
        checkpoint_id=clip.checkpoint_id, temperature=clip.temperature,
        primed_from=out.primed_from,
    )
