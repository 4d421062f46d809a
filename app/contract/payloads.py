"""What each job kind is asked to do: one frozen, versioned payload dataclass per kind.

A payload is written by the web process when it submits a job (app/services/plans.py maps the
REST bodies onto these) and read by the worker that runs it (worker/lease.py decodes it before
the runner starts). Fields that a worker fills in while it works, so that a redelivered copy of
the job does the very same thing, are part of the type too (`first_index`, `made`), and runners
replace the payload with `dataclasses.replace`, never by editing a dict.

Units: seconds, Hz; seeds are non-negative ints; ids are catalog row ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.contract.codec import Versioned
from app.contract.queues import GPU, Queue

AutoAlbumMode = Literal["clips", "generate", "epochs", "best"]
CoverMethod = Literal["self", "photos"]


class Payload(Versioned):
    """Base of every job payload."""

    def route(self, default: Queue) -> Queue:
        """The queue this particular job goes to (most kinds: always their kind's queue)."""
        return default

    def reservation(self) -> tuple[int, int, int] | None:
        """(checkpoint id, first clip index, count) this job reserved, if it makes clips."""
        return None


@dataclass(frozen=True)
class RunPayload(Payload):
    """Train a run (its plan is the Run row's `config`, app/contract/plan.py) and make its clips
    after every epoch. `resume`: started again after a failure or a cancel."""

    run_id: int
    resume: bool = False


@dataclass(frozen=True)
class PrimeExcerpt:
    """A moment of the album (a source track) or of a clip that the generator reads first: its
    storage key, and `seconds` of it from `start_s`. The service resolves the ids to the key
    (app/services/priming.py); `label` names the moment for people ("Track 2", "clip #7")."""

    key: str
    start_s: float
    seconds: float
    source_id: int | None = None
    clip_id: int | None = None
    label: str = ""


@dataclass(frozen=True)
class GeneratePayload(Payload):
    """`n` more clips of `seconds` from one checkpoint. `temperature` 0 samples greedily.

    `first_index` is the worker's reservation of clip indices `first_index .. + n - 1`, written
    before the first clip so that a redelivered job makes the very same clips.

    `prime`: every clip first reads that excerpt, then continues from its end (issue 10). It
    came later, with a default, so stored payloads still decode and VERSION stays 1 (see
    AlbumSnapshot for why that is the compatible way).
    """

    checkpoint_id: int
    run_id: int
    n: int
    seconds: float
    temperature: float
    seed: int
    first_index: int | None = None
    prime: PrimeExcerpt | None = None

    def reservation(self) -> tuple[int, int, int] | None:
        if self.first_index is None:
            return None
        return self.checkpoint_id, self.first_index, self.n


@dataclass(frozen=True)
class TitlesPayload(Payload):
    """Draw `n` novel titles from the project's discography; `replace` first deletes the
    generated titles that are not pinned."""

    project_id: int
    n: int
    seed: int
    replace: bool = False


@dataclass(frozen=True)
class CoversPayload(Payload):
    """`n` covers by the paper's method (seeds `seed`, `seed + 1`, ...), `size` px square."""

    project_id: int
    method: CoverMethod
    size: int
    seed: int
    backend: str  # a model/covers.py backend name, or "auto"
    n: int = 1


@dataclass(frozen=True)
class SnapshotCredit:
    role: str  # app/schemas/release.py CreditRole
    name: str


@dataclass(frozen=True)
class AnalyzePayload(Payload):
    """Analyse a project's clips (model/analysis.py: flags, closeness to the album, style
    distance, quality) and update their epochs' style distance.

    `checkpoint_id`: only that epoch's clips (what the gpu worker asks for when clips land);
    None: every clip of the project (a backfill). Clips already analysed by the current
    analysis version are skipped unless `redo`. The worker walks the clips in id order and
    records how far it got (`after_id`, `done` of `total`) with every batch it writes, so a
    redelivered job, or one that yielded its worker to other cpu jobs, carries on from there.
    """

    project_id: int
    checkpoint_id: int | None = None
    redo: bool = False
    total: int | None = None  # clips to analyse, counted when the job first ran
    done: int = 0
    after_id: int = 0


@dataclass(frozen=True)
class SnapshotTrack:
    """One track of a frozen album. The metadata fields came later (issue 14): they have
    defaults, so snapshots stored before them still decode (as "not given")."""

    track_id: int
    revision: int  # pins the track's edit list
    title: str
    join_s: float  # after this track: > 0 a gap, < 0 a crossfade, seconds
    composer: str = ""
    isrc: str = ""  # 12 characters, no hyphens
    credits: tuple[SnapshotCredit, ...] = ()


@dataclass(frozen=True)
class AlbumSnapshot:
    """An album frozen when its export was asked for: the zip is made of exactly this.

    `year` is the release date's year (the creation year when no date is given). Empty
    strings and None mean "not given", which is also what a snapshot stored before the release
    metadata existed decodes to. Adding these defaulted fields kept the payload VERSION at 1:
    every stored payload still decodes the same, while a worker of an older release refuses a
    new one by naming the fields it does not know (app/contract/codec.py), which says as
    much as a version number would; a bump would only have made stored v1 payloads unreadable.
    """

    album_id: int
    project_id: int
    title: str
    artist: str
    year: int
    cover_id: int | None
    tracks: tuple[SnapshotTrack, ...]
    album_artist: str = ""
    release_date: str = ""  # YYYY or YYYY-MM-DD
    genre: str = ""
    label: str = ""
    comment: str = ""
    upc: str = ""
    disc_number: int | None = None
    disc_total: int | None = None


@dataclass(frozen=True)
class ExportPayload(Payload):
    """Render, master and package `album` into Export `export_id`."""

    export_id: int
    formats: tuple[str, ...]  # "flac" first, then the copies (app/schemas/albums.py)
    album: AlbumSnapshot


@dataclass(frozen=True)
class AlbumPiece:
    """One track of a no-curation album: a section of one clip (seconds inside the clip)."""

    clip_id: int
    epoch: int
    start_s: float
    end_s: float
    duration_s: float  # of the whole clip


@dataclass(frozen=True)
class MadeAlbum:
    """Written once the album's rows exist: a retry only exports again."""

    export_id: int
    album: AlbumSnapshot
    clip_ids: tuple[int, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AutoAlbumPayload(Payload):
    """The paper's no-curation album, planned at submit time so a redelivery builds the same one.

    mode `clips`, `epochs` and `best` come with their `pieces` chosen; mode `generate` with the
    clip generation it runs first (`generate`, on the gpu queue), whose fresh clips with a hard
    flag are dropped unless `include_flagged`. `made` is filled in by the worker.
    """

    project_id: int
    mode: AutoAlbumMode
    seed: int
    run_id: int
    epoch: Literal["last", "all"] | int
    seconds: float | None
    tracks: int
    title: str | None
    artist: str
    gap_s: float
    formats: tuple[str, ...]
    pieces: tuple[AlbumPiece, ...] = ()
    generate: GeneratePayload | None = None
    made: MadeAlbum | None = None
    include_flagged: bool = False

    def route(self, default: Queue) -> Queue:
        return GPU if self.mode == "generate" else default

    def reservation(self) -> tuple[int, int, int] | None:
        return None if self.generate is None else self.generate.reservation()


@dataclass(frozen=True)
class RadioPayload(Payload):
    """An endless stream from one checkpoint (worker/radio.py), until it is cancelled.

    The job's id is the radio's id; its shared buffer lives in media storage under
    `projects/{project id}/radio/{job id}/` (app/radio/buffer.py), so a new worker continues
    the same stream.
    """

    checkpoint_id: int
    run_id: int
    temperature: float
    seed: int
    prime: PrimeExcerpt | None = None
    segment_s: float = 0.25  # one generated block: the unit of the buffer and of pacing
    ahead_s: float = 8.0  # how far the generator runs ahead of the air clock
    keep_s: float = 120.0  # how much audio the buffer keeps behind the air clock ("keep that")


@dataclass(frozen=True)
class RetentionPayload(Payload):
    """Remove the run's checkpoint files that retention lets go (app/services/retention.py):
    all but the newest `keep_last` and those with a clip kept, rated or used by a track."""

    run_id: int
    keep_last: int
