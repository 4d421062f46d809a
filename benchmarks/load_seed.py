"""A catalog the size a team curates, seeded for benchmarks/load.py.

Through the studio's HTTP API: a project with its album uploaded, tracks and an album to export.
Straight into the catalog (a bulk insert, as a finished run leaves them): one finished run with
`epochs` checkpoints and `clips` clip rows spread over them, analysed like the cpu worker
leaves them (features, scores, fingerprint, closeness to a source track) with seeded random values
where the number does not matter, so that every filter and sort has something to do and every
row is as heavy as a real one.
The audio is 20 distinct synthesized 4-second recordings; every clip has its own file, a hard
link to one of them, so Range requests read real WAV files of the real size.
"""

from __future__ import annotations

import io
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import soundfile as sf

from app.catalog import Checkpoint, Clip, Run
from app.db import make_engine, session_factory
from app.services.analysis import FLAG_BITS
from app.settings import Settings
from app.storage import Storage
from model.analysis import ANALYSIS_VERSION
from model.features import measure
from model.pathology import FLAG_NAMES
from model.synth import through_composed
from tests.plans import tiny_plan
from tests.worker.harness import album_files

API = "/api/v1"
SR = 16000
CLIP_S = 4.0
RECORDINGS = 20
FINGERPRINT = 32  # floats: the mean of a frame's 20 MFCC + 12 chroma values


@dataclass(frozen=True)
class Catalog:
    project_id: int
    run_id: int
    epochs: int
    clip_ids: tuple[int, ...]
    album_id: int


def ok(r: httpx.Response, *statuses: int) -> Any:
    if r.status_code not in (statuses or (200, 201)):
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}")
    return r.json()


def new_project(http: httpx.Client, name: str) -> int:
    """A project with a synthesized two-track album uploaded."""
    project = ok(http.post(f"{API}/projects", json={"name": name, "artist": "Bench"}))
    ok(http.post(f"{API}/projects/{project['id']}/sources", files=album_files()), 201)
    return int(project["id"])


def seed_catalog(http: httpx.Client, settings: Settings, *, clips: int, epochs: int = 30,
                 tracks: int = 6) -> Catalog:
    project_id = new_project(http, "Curated")
    sources = ok(http.get(f"{API}/projects/{project_id}/sources"))["data"]
    run_id, ids = _clip_rows(settings, project_id, clips, epochs, sources[0])
    album_id = _album(http, project_id, ids, tracks)
    return Catalog(project_id, run_id, epochs, tuple(ids), album_id)


def _recordings(storage: Storage, project_id: int) -> list[tuple[Path, dict[str, Any]]]:
    """The recordings' files and their measured features."""
    out = []
    for i in range(RECORDINGS):
        audio = through_composed(CLIP_S, SR, 900 + i)
        buf = io.BytesIO()
        sf.write(buf, audio, SR, format="WAV", subtype="PCM_16")
        path = storage.write_bytes(f"projects/{project_id}/load/rec-{i}.wav", buf.getvalue())
        out.append((path, measure(audio, SR).to_dict()))
    return out


def _analysis(rng: random.Random, source: dict[str, Any]) -> dict[str, Any]:
    """`analysis` and `closeness` columns shaped as app/services/analysis.py writes them."""
    matched = round(rng.uniform(0, 2), 2)
    return {
        "analysis": {"scores": {f: round(rng.random() * 0.6, 3) for f in FLAG_NAMES},
                     "style_distance": round(rng.uniform(20, 80), 4),
                     "fingerprint": [round(rng.gauss(0, 1), 3) for _ in range(FINGERPRINT)]},
        "closeness": {"source_track_id": source["id"], "source_name": source["display_name"],
                      "source_offset_s": round(rng.uniform(0, 8), 2),
                      "clip_offset_s": round(rng.uniform(0, 4), 2),
                      "similarity": round(rng.random(), 3), "seconds_matched": matched,
                      "longest_run_s": matched, "share": round(matched / CLIP_S, 4),
                      "copied": False},
    }


def _clip_rows(settings: Settings, project_id: int, n: int, epochs: int,
               source: dict[str, Any]) -> tuple[int, list[int]]:
    storage = Storage(settings.media_dir)
    recordings = _recordings(storage, project_id)
    peaks = storage.write_bytes(f"projects/{project_id}/load/peaks.json", b"{}")
    rng = random.Random(0)
    engine = make_engine(settings)
    try:
        with session_factory(engine)() as session:
            run = Run(project_id=project_id, config=tiny_plan(), status="succeeded",
                      current_epoch=epochs)
            session.add(run)
            session.flush()
            folder = f"projects/{project_id}/runs/{run.id}"
            cks = [Checkpoint(run_id=run.id, epoch=e, step=100 * e,
                              path=f"{folder}/checkpoints/epoch-{e:04d}.pt")
                   for e in range(1, epochs + 1)]
            session.add_all(cks)
            session.flush()
            rows = []
            for i in range(n):
                ck = cks[i % epochs]
                key = f"{folder}/clips/e{ck.epoch:04d}-{i // epochs:04d}.wav"
                path = storage.path(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                recording, features = recordings[i % RECORDINGS]
                os.link(recording, path)
                flags = [name for name in ("silent", "noise", "loop") if rng.random() < 0.05]
                rows.append(dict(
                    checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=ck.epoch,
                    index=i // epochs, seed=i, temperature=1.0, sample_rate=SR, duration_s=CLIP_S,
                    audio_path=key, peaks_path=str(peaks.relative_to(storage.root)),
                    features=features, tags=[], notes="",
                    loudness_lufs=rng.uniform(-40, -8), peak_dbfs=features["peak_dbfs"],
                    silence_ratio=rng.uniform(0, 0.5), clipping=features["clipping"],
                    originality=rng.uniform(0.5, 1), quality=rng.random(),
                    rating=rng.choice((None, None, None, 1, 2, 3, 4, 5)),
                    flags=[{"name": f, "score": 0.8, "reason": "seeded", "details": {}}
                           for f in flags],
                    flag_mask=sum(FLAG_BITS[f] for f in flags), **_analysis(rng, source),
                    analysis_version=ANALYSIS_VERSION, analyzed_at=datetime.now(UTC),
                ))
            session.execute(Clip.__table__.insert(), rows)
            session.commit()
            ids = list(session.scalars(Clip.__table__.select().with_only_columns(Clip.id)
                                       .where(Clip.run_id == run.id).order_by(Clip.id)))
            return run.id, ids
    finally:
        engine.dispose()


def _album(http: httpx.Client, project_id: int, ids: list[int], tracks: int) -> int:
    """`tracks` songs of 5 clips each (20 s), in an album with 2 s gaps."""
    slots = []
    for t in range(tracks):
        edl = [{"clip_id": ids[(5 * t + k) * 7 % len(ids)], "start_s": 0.0, "end_s": CLIP_S}
               for k in range(5)]
        track = ok(http.post(f"{API}/projects/{project_id}/tracks",
                             json={"name": f"Song {t + 1}", "edl": edl}), 201)
        slots.append({"track_id": track["id"], "title": f"Song {t + 1}", "gap_ms": 2000})
    album = ok(http.post(f"{API}/projects/{project_id}/albums",
                         json={"title": "Under Load", "artist": "Bench", "tracks": slots}), 201)
    return int(album["id"])
