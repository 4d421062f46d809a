"""One context dataclass per page template (datasette's habit): what each template may use.

Every field carries help text in its metadata (tests/web/test_pages.py checks that), so a template
author can read here what a name means without reading the route. `PAGES` maps every template the
routes render (pages and the partials they swap in) → its context.
Rows shown inside pages are small dataclasses too; JSON handed to the page's script goes through
`page_data` (a dict the template writes into a `<script type="application/json">` block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.web.context_fields import Crumb as Crumb  # re-exported: the pages take it from here
from app.web.context_fields import doc
from app.web.graphics import LineChart
from app.web.quality_chart import QualityChart
from app.web.radio_contexts import RadioContext, RadioStartContext


@dataclass(frozen=True)
class ProjectCard:
    id: int = doc("project id")
    name: str = doc("album name")
    artist: str = doc("artist imitated")
    description: str = doc("free text")
    runs: int = doc("training runs")
    clips: int = doc("generated clips")
    tracks: int = doc("songs (edit lists)")
    cover_url: str | None = doc("uploaded cover image, if any")


@dataclass(frozen=True)
class ProjectsContext:
    """projects.html: every project, and a form to create one."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    projects: list[ProjectCard] = doc("newest first")
    page_data: dict[str, Any] = doc("JSON for the page script", default_factory=dict)


@dataclass(frozen=True)
class RunRow:
    id: int = doc("run id")
    status: str = doc("queued, running, succeeded, failed or cancelled")
    preset: str = doc("tiny or paper")
    epochs_done: int = doc("finished epochs")
    epochs: int = doc("planned epochs")
    clips: int = doc("clips generated so far")
    created: str = doc("when it was created, ISO 8601")
    job_id: int | None = doc("job driving it")


@dataclass(frozen=True)
class SourceRow:
    name: str = doc("uploaded file name")
    format: str = doc("container/codec")
    duration_s: float = doc("length in seconds")
    sample_rate: int = doc("Hz")
    channels: int = doc("channel count")
    id: int = doc("source track id (its page: /sources/{id})", default=0)


@dataclass(frozen=True)
class ImageRow:
    url: str = doc("image URL")
    role: str = doc("cover or photo")
    name: str = doc("uploaded file name")
    size: str = doc("width × height")


@dataclass(frozen=True)
class TrackRow:
    id: int = doc("track id")
    name: str = doc("song name")
    revision: int = doc("current revision")
    items: int = doc("EDL items")
    lanes: int = doc("lanes in use")
    duration_s: float = doc("rendered length")


@dataclass(frozen=True)
class ProjectContext:
    """project.html: uploads, titles, runs and songs of one project."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    sources: list[SourceRow] = doc("uploaded album audio")
    titles: list[str] = doc("discography titles")
    images: list[ImageRow] = doc("cover and band photos")
    runs: list[RunRow] = doc("training runs, newest first")
    tracks: list[TrackRow] = doc("songs")
    presets: list[str] = doc("run presets offered")
    page_data: dict[str, Any] = doc("JSON for the page script", default_factory=dict)
    disk: str = doc("disk used by the project's media, by category", default="")


@dataclass(frozen=True)
class EpochRow:
    epoch: int = doc("epoch number")
    step: int = doc("training step at the checkpoint")
    train_nll: float | None = doc("training NLL, bits")
    valid_nll: float | None = doc("validation NLL, bits")
    clips: int = doc("clips generated at this epoch")
    browse_url: str = doc("clip browser filtered to this epoch")
    style_distance: float | None = doc("Fréchet distance of the epoch's clips to the album")
    flagged_share: float | None = doc("share of its analysed clips with a flag raised")
    copied_share: float | None = doc("share of its analysed clips flagged copied")
    checkpoint_id: int = doc("the epoch's checkpoint (generate more, delete)", default=0)


@dataclass(frozen=True)
class RunContext:
    """run.html: live progress, the NLL curve and the epochs of one run."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the run's project")
    run: RunRow = doc("the run")
    error: str | None = doc("why it failed")
    progress: float = doc("0..1 from its job")
    message: str = doc("the job's last message")
    chart: LineChart = doc("NLL per epoch")
    quality: QualityChart = doc("validation NLL, style distance and flagged share per epoch")
    epochs: list[EpochRow] = doc("one row per checkpoint")
    page_data: dict[str, Any] = doc("JSON for the page script", default_factory=dict)
    disk: str = doc("disk used by the run's checkpoints and clips", default="")


@dataclass(frozen=True)
class Badge:
    name: str = doc("flag name: silent, noise, exploded, drone, loop, dc, clipped, copied")
    reason: str = doc("one line a curator can read")
    hard: bool = doc("a hard flag: the clip is not worth a listen")


@dataclass(frozen=True)
class SourceMoment:
    """Where a clip comes closest to the album, for the editor's A/B against the source."""

    track_id: int = doc("source track")
    name: str = doc("the track's name")
    source_offset_s: float = doc("the moment in the track, seconds")
    clip_offset_s: float = doc("the same moment in the clip, seconds")
    seconds_matched: float = doc("seconds of the clip that follow the album")
    longest_run_s: float = doc("the longest of those stretches")
    copied: bool = doc("flagged copied")
    audio_url: str = doc("the source track's audio (Range)")


@dataclass(frozen=True)
class ClipRow:
    id: int = doc("clip id")
    run_id: int = doc("run")
    epoch: int = doc("epoch")
    group: str = doc("run › epoch key; a header starts where it changes")
    group_label: str = doc("header text for the group")
    group_nll: str = doc("validation NLL of the group's checkpoint, formatted")
    index: int = doc("index within the checkpoint")
    duration_s: float = doc("seconds")
    loudness_lufs: float | None = doc("integrated loudness")
    peak_dbfs: float | None = doc("sample peak")
    silence_ratio: float | None = doc("fraction of silent windows")
    clipping: float | None = doc("fraction of clipped samples")
    rating: int | None = doc("1..5 or None")
    kept: bool | None = doc("True keep, False reject, None undecided")
    tags: list[str] = doc("curator tags")
    notes: str = doc("curator notes")
    thumb: str | None = doc("SVG path of the waveform thumbnail (160 × 40 box)")
    audio_url: str = doc("clip audio (Range)")
    peaks_url: str | None = doc("peaks JSON")
    editor_url: str = doc("clip editor page")
    badges: list[Badge] = doc(
        "raised pathology flags; before analysis, level warnings (clipping, near-silent)"
    )
    quality: float | None = doc("0..1 quality score (None until analysed)")
    source: SourceMoment | None = doc("closest moment of the album (None without analysis)")
    checkpoint_id: int = doc("the checkpoint it came from (generate more)", default=0)
    temperature: float = doc("sampling temperature it was made with", default=1.0)
    primed_from: str | None = doc('"continued from X at 1:23" for a primed clip', default=None)

    def as_json(self) -> dict[str, Any]:
        """What the page scripts know about a clip."""
        return {
            "id": self.id, "epoch": self.epoch, "run_id": self.run_id,
            "duration_s": self.duration_s, "loudness_lufs": self.loudness_lufs,
            "rating": self.rating, "kept": self.kept, "tags": self.tags, "notes": self.notes,
            "audio_url": self.audio_url, "peaks_url": self.peaks_url,
            "editor_url": self.editor_url, "label": f"#{self.id} · epoch {self.epoch}",
            "quality": self.quality, "primed_from": self.primed_from,
            "badges": [{"name": b.name, "reason": b.reason, "hard": b.hard} for b in self.badges],
            "source": None if self.source is None else vars(self.source),
            "checkpoint_id": self.checkpoint_id, "temperature": self.temperature,
        }


@dataclass(frozen=True)
class Option:
    value: str = doc("form value")
    label: str = doc("what the curator reads")


@dataclass(frozen=True)
class ClipsContext:
    """clips.html: the clip browser (run › epoch groups, thumbnails, audition keys)."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    rows: list[ClipRow] = doc("the first page of clips")
    next_url: str | None = doc("URL of the next page's rows (partial), None on the last page")
    filters: dict[str, str] = doc("current filter values by name")
    run_options: list[Option] = doc("runs to filter by")
    epoch_options: list[Option] = doc("epochs to filter by")
    sort_options: list[Option] = doc("sort orders")
    kept_options: list[Option] = doc("keep filter values")
    loudness_options: list[Option] = doc("integrated-loudness filter values (hide quiet clips)")
    silence_options: list[Option] = doc("silence-ratio filter values (hide dead air)")
    flag_options: list[Option] = doc("pathology-flag filter values")
    total: int = doc("clips matching the filters")
    page_data: dict[str, Any] = doc("JSON for the page script", default_factory=dict)
    live_url: str = doc("the API listing the live clips these filters show", default="")


@dataclass(frozen=True)
class ClipRowsContext:
    """_clip_rows.html: one more page of rows for the browser's endless list."""

    rows: list[ClipRow] = doc("clips of this page")
    next_url: str | None = doc("URL of the page after, None on the last page")
    previous_group: str = doc("group key of the row before this page (no repeated header)")


@dataclass(frozen=True)
class MarkerRow:
    id: int = doc("marker id")
    time_s: float = doc("seconds into the clip")
    label: str = doc("curator's label")


@dataclass(frozen=True)
class ClipContext:
    """clip.html: the clip editor (waveform, regions, markers, send to track)."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the clip's project")
    clip: ClipRow = doc("the clip")
    sample_rate: int = doc("Hz")
    markers: list[MarkerRow] = doc("labelled markers")
    tracks: list[TrackRow] = doc("songs a section can be sent to")
    prev_url: str | None = doc("previous clip in the catalog order")
    next_url: str | None = doc("next clip in the catalog order")
    page_data: dict[str, Any] = doc("JSON for the page script", default_factory=dict)


@dataclass(frozen=True)
class TrackContext:
    """track.html: the song editor (arrangement, lanes, preview, render)."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the track's project")
    track: TrackRow = doc("the track")
    kept_clips: list[ClipRow] = doc("kept or best-rated clips to add quickly")
    page_data: dict[str, Any] = doc("JSON for the page script: track and its clips")


# -- album pages (app/web/albums.py) ------------------------------------------------------------


@dataclass(frozen=True)
class AlbumRow:
    id: int = doc("album id")
    title: str = doc("album title")
    artist: str = doc("the band's new name")
    tracks: int = doc("number of tracks")
    duration_s: float = doc("total length with gaps and crossfades, seconds")
    cover_url: str | None = doc("picked cover image, if any")


@dataclass(frozen=True)
class AlbumsContext:
    """albums/index.html: a project's albums, a new album, the no-curation album."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    albums: list[AlbumRow] = doc("oldest first")
    epochs: list[int] = doc("epochs of the latest run that has checkpoints (for the auto form)")
    page_data: dict[str, Any] = doc("JSON for the page script: project id")


@dataclass(frozen=True)
class TitlesContext:
    """albums/titles.html: generated titles to browse, search, pin and edit; a form to draw more."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    discography: int = doc("how many discography titles the chains learn from")
    page_data: dict[str, Any] = doc("JSON for the page script: project id, first page of titles")


@dataclass(frozen=True)
class CoversContext:
    """albums/covers.html: the gallery of generated covers, pick and crop; a form to make more."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    has_cover: bool = doc("an album cover was uploaded (needed by both methods)")
    photos: int = doc("band photos uploaded (needed by the photos method)")
    backends: list[str] = doc("style backends installed on this machine, best first")
    page_data: dict[str, Any] = doc("JSON for the page script: project id, covers")


@dataclass(frozen=True)
class AlbumContext:
    """albums/album.html: the album editor (order, titles, joins, cover, timeline, check,
    transitions) and its exports."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the album's project")
    album_id: int = doc("album id")
    page_data: dict[str, Any] = doc(
        "JSON for the page script: album, project tracks, covers, title pool, exports"
    )


# -- sign-in (app/web/login.py) -----------------------------------------------------------------


@dataclass(frozen=True)
class LoginContext:
    """login.html: the token form shown when the studio is protected."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    next_url: str = doc("where to go after signing in")
    error: str = doc("why the last attempt failed, or empty", default="")
    page_data: dict[str, str] = doc("JSON for the page script", default_factory=dict)


@dataclass(frozen=True)
class SourceContext:
    """source.html: an album track's waveform; "continue from here" primes a generation."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    source: SourceRow = doc("the source track")
    page_data: dict[str, Any] = doc("JSON for the page script: the source, the checkpoints")


# -- template → context -------------------------------------------------------------------------

ALBUM_PAGES: dict[str, type] = {
    "albums/index.html": AlbumsContext,
    "albums/titles.html": TitlesContext,
    "albums/covers.html": CoversContext,
    "albums/album.html": AlbumContext,
}
PAGES: dict[str, type] = {
    "projects.html": ProjectsContext,
    "project.html": ProjectContext,
    "run.html": RunContext,
    "_run_live.html": RunContext,
    "clips.html": ClipsContext,
    "_clip_rows.html": ClipRowsContext,
    "clip.html": ClipContext,
    "track.html": TrackContext,
    **ALBUM_PAGES,
    "login.html": LoginContext,
    "radio_start.html": RadioStartContext,
    "radio.html": RadioContext,
    "source.html": SourceContext,
}
