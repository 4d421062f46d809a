"""The clip-analysis runner (cpu queue): flags, closeness, style distance and quality of a
project's clips (model/analysis.py), written to the catalog through app/services/analysis.py.

It works in bounded batches: read `BATCH` clips, analyse them with no session open, write the
batch's results and the job's progress (`after_id`, `done`) in one short fenced transaction.
Between clips it checks the lease, so a cancel stops it within one clip. After
`settings.analysis_slice_s` it yields (worker.lease.Yielded): the job goes to the end of the cpu
queue and the titles, covers and exports waiting behind a long backfill run first. When it has
no clip left, it recomputes the style distance of every epoch it touched from the clips'
frame statistics (files beside their audio).

The album index (model/closeness.py) is built once per set of source tracks and cached as a
file beside the project's datasets; a project without source tracks gets flags only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import soundfile as sf

from app import jobs
from app.contract.payloads import AnalyzePayload
from app.services import analysis
from app.services.analysis import AlbumSpec, ClipResult, ClipToAnalyze
from model.analysis import ClipAnalysis, analyze
from model.audio import AudioError, decode
from model.closeness import AlbumIndex
from model.pathology import HARD_FLAGS
from model.style import FrameStats, frechet_distance
from worker.errors import JobError
from worker.lease import Lease, Yielded
from worker.runtime import Runtime

logger = logging.getLogger(__name__)
BATCH = 16  # clips per catalog write


class RuntimeQueue:
    """The runtime's publisher as an app.queue.TaskQueue (for app/services publishing)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def enqueue(self, task: str, job_id: int, *, queue: str) -> None:
        self.rt.publish(task, job_id, queue)


def queue_checkpoint_analysis(
    rt: Runtime, lease: Lease, project_id: int, checkpoint_id: int
) -> None:
    """The hook the gpu worker calls after clips land: queue (once) and publish an analysis of
    the checkpoint's clips that have none yet."""
    with lease.fenced() as session:
        job = analysis.queue_checkpoint_analysis(session, project_id, checkpoint_id)
        job_id = None if job is None else job.id
    if job_id is not None:
        with rt.session() as session:
            analysis.publish_job(session, RuntimeQueue(rt), job_id)


def run_analysis(rt: Runtime, lease: Lease, payload: AnalyzePayload) -> dict[str, Any]:
    if payload.total is None:
        with rt.reading() as session:
            payload = replace(payload, total=analysis.count_pending(session, payload))
        lease.save_payload(payload)
    total = payload.total or 0
    deadline = time.monotonic() + rt.settings.analysis_slice_s
    with rt.reading() as session:
        spec = analysis.album_spec(session, payload.project_id)
    index = album_index(rt, lease, spec)
    touched: set[int] = set()
    flagged = 0
    while True:
        lease.check()
        with rt.reading() as session:
            batch = analysis.pending_clips(session, payload, BATCH)
        if not batch:
            break
        if touched and time.monotonic() > deadline:
            update_epochs(rt, lease, touched, index)
            raise Yielded(f"analysed {payload.done} of {total} clips; continues after the "
                          "jobs queued behind it")
        results = [_analyze(rt, lease, clip, index) for clip in batch]
        flagged += sum(1 for r in results if r.analysis["flags"])
        payload = replace(payload, done=payload.done + len(batch), after_id=batch[-1].id)
        with lease.fenced() as session:
            analysis.record_results(session, results)
            jobs.set_payload(session, lease.job_id, payload)
        touched |= {c.checkpoint_id for c in batch}
        lease.report(
            progress=payload.done / max(total, payload.done),
            message=f"analysed {payload.done} of {max(total, payload.done)} clips",
        )
    update_epochs(rt, lease, touched, index)
    return {
        "project_id": payload.project_id, "analysed": payload.done, "flagged_now": flagged,
        "album_indexed": index is not None, "epochs": sorted(touched),
    }


def analyse_now(
    rt: Runtime, lease: Lease, project_id: int, clip_ids: list[int]
) -> dict[int, list[str]]:
    """Analyse these clips of a project now (recorded like the analysis job does) and return
    the hard flags each raises (a no-curation album leaves those out)."""
    with rt.reading() as session:
        spec = analysis.album_spec(session, project_id)
        clips = analysis.clips_by_id(session, clip_ids)
    index = album_index(rt, lease, spec)
    results = [_analyze(rt, lease, clip, index) for clip in clips]
    with lease.fenced() as session:
        analysis.record_results(session, results)
    update_epochs(rt, lease, {c.checkpoint_id for c in clips}, index)
    return {
        r.clip_id: [f["name"] for f in r.analysis["flags"] if f["name"] in HARD_FLAGS]
        for r in results
    }


def _analyze(
    rt: Runtime, lease: Lease, clip: ClipToAnalyze, index: AlbumIndex | None
) -> ClipResult:
    lease.check()
    path = rt.storage.path(clip.audio_path)
    try:
        audio, sr = sf.read(str(path), dtype="float32")
    except (OSError, sf.SoundFileError) as exc:
        raise JobError(f"clip {clip.id}: its audio cannot be read ({exc})") from None
    result: ClipAnalysis = analyze(audio, sr, index)
    if result.stats is not None:
        rt.storage.write_bytes(analysis.stats_key(clip.audio_path), result.stats.to_bytes())
    return ClipResult(clip.id, result.to_dict(), result.fingerprint)


def album_index(rt: Runtime, lease: Lease, spec: AlbumSpec | None) -> AlbumIndex | None:
    """The project's album index: loaded from its cache file, or built from the source tracks
    (decoded one at a time) and cached. None without source tracks or when they are silent."""
    if spec is None:
        return None
    path = rt.storage.path(spec.index_key)
    if path.is_file():
        try:
            return AlbumIndex.load(path)
        except ValueError as exc:
            logger.warning("rebuilding the album index: %s", exc)
    lease.report(message=f"indexing the album ({len(spec.sources)} tracks)")

    def loader(key: str) -> Any:
        return lambda: decode(rt.storage.path(key))

    try:
        index = AlbumIndex.build(
            [(str(i), name, loader(key)) for i, name, key in spec.sources],
            on_track=lambda _: lease.check(),
        )
    except AudioError as exc:
        raise JobError(f"cannot index the album: {exc}") from None
    except ValueError as exc:
        logger.warning("no album index for this project: %s", exc)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    index.save(path)
    return index


def update_epochs(
    rt: Runtime, lease: Lease, checkpoint_ids: set[int], index: AlbumIndex | None
) -> None:
    """Each checkpoint's style distance (its analysed clips pooled against the album) and its
    flagged and copied shares."""
    for checkpoint_id in sorted(checkpoint_ids):
        lease.check()
        with rt.reading() as session:
            members = analysis.epoch_members(session, checkpoint_id)
        distance = None
        if index is not None:
            pooled = FrameStats.empty(index.vectors.shape[1])
            for member in members:
                path = rt.storage.path(analysis.stats_key(member.audio_path))
                if path.is_file():
                    pooled = pooled + FrameStats.load(path)
            if pooled.n >= 2:
                distance = round(frechet_distance(pooled, index.style_stats), 4)
        with lease.fenced() as session:
            analysis.record_epoch(session, checkpoint_id, style_distance=distance, members=members)
