"""`albumbot bench quality`: what clip analysis costs, and what it says of a short real run.

- `flags`: seconds to analyse one clip-minute without an album (frame features and every
  pathology detector), the best of `repeats`;
- `closeness`: a synthetic album of `album_minutes` (never repeating itself) is indexed, then
  one clip-minute is matched against it (an original and a copy), and fully analysed;
- `run`: a `tiny` model is trained on the demo album for `run_epochs` epochs on this CPU; after
  each epoch `clips_per_epoch` clips are generated and analysed, and the epoch's style distance
  (its clips pooled against the album), flagged share and validation NLL are reported, beside
  the album's own chunks (the reference a perfect model would reach) and white noise.

Numbers are wall seconds on this machine; `loadavg` says how busy it was. Run with
OMP_NUM_THREADS=1 for one-core figures (the matrix products use BLAS threads otherwise).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .analysis import analyze
from .closeness import AlbumIndex, match
from .frame_features import frame_features
from .style import FrameStats, frechet_distance
from .synth import demo_album, through_composed

SR = 16000


def _pair(audio: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], int]:
    return audio, SR


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(min(times), 4)


def bench_flags(clip_minutes: float, repeats: int) -> dict[str, Any]:
    clip = through_composed(60.0 * clip_minutes, SR, 7)
    seconds = _best(lambda: analyze(clip, SR), repeats)
    features = _best(lambda: frame_features(clip, SR), repeats)
    return {"clip_minutes": clip_minutes, "seconds": seconds,
            "seconds_per_clip_minute": round(seconds / clip_minutes, 4),
            "frame_features_s": features}


def bench_closeness(album_minutes: float, clip_minutes: float, repeats: int) -> dict[str, Any]:
    track_s = 300.0
    n_tracks = max(1, round(album_minutes * 60 / track_s))
    t0 = time.perf_counter()
    tracks = [through_composed(track_s, SR, 200 + i) for i in range(n_tracks)]
    synth_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = AlbumIndex.build([(str(i), f"t{i}", partial(_pair, a)) for i, a in enumerate(tracks)])
    index_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.npz"
        index.save(path)
        size = path.stat().st_size
        t0 = time.perf_counter()
        index = AlbumIndex.load(path)
        _ = index.unit, index.style_stats
        load_s = time.perf_counter() - t0
    n = round(60 * clip_minutes * SR)
    original = through_composed(60.0 * clip_minutes, SR, 9)
    copy = tracks[-1][SR * 17 : SR * 17 + n]
    fo, fc = frame_features(original, SR), frame_features(copy, SR)
    found = match(fc, index)
    return {
        "album_minutes": round(index.seconds / 60, 2), "album_frames": index.frames,
        "clip_minutes": clip_minutes,
        "match_original_s": _best(lambda: match(fo, index), repeats),
        "match_copy_s": _best(lambda: match(fc, index), repeats),
        "analyze_clip_s": _best(lambda: analyze(original, SR, index), repeats),
        "copy_found": bool(found and found.copied),
        "copy_offset_error_s": None if found is None else round(
            abs(found.source_offset_s - found.clip_offset_s - 17.0), 3),
        "index_build_s": round(index_s, 2), "index_load_s": round(load_s, 3),
        "index_bytes": size, "album_synthesis_s": round(synth_s, 2),
    }


def bench_run(
    epochs: int, clips_per_epoch: int, clip_seconds: float, threads: int
) -> dict[str, Any]:
    """Train `tiny` on the demo album, analysing each epoch's clips; see the module notes."""
    import soundfile as sf
    import torch

    from .checkpoint import load_model
    from .config import override, preset
    from .dataset import DatasetConfig, prepare_dataset
    from .generate import generate
    from .manifest import load_split
    from .preprocess import to_mono
    from .train import train

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        album = demo_album(30.0, SR, 3, seed=0)
        paths = []
        for name, audio in album:
            paths.append(Path(tmp) / f"{name}.wav")
            sf.write(paths[-1], audio, SR, subtype="PCM_16")
        prepare_dataset(paths, Path(tmp) / "ds", config=DatasetConfig(n_chunks=64, seed=0))
        index = AlbumIndex.build([(str(i), n, partial(_pair, to_mono(a)))
                                  for i, (n, a) in enumerate(album)])
        tiny = preset("tiny")
        train_cfg = override(tiny.train, epochs=epochs, seed=0, max_segments_per_chunk=48)
        rows: list[dict[str, Any]] = []

        def on_epoch(result: Any) -> None:
            model = load_model(result.checkpoint, "cpu")
            t0 = time.perf_counter()
            torch.set_num_threads(1)  # sampling is one step per sample: threads only add waits
            clips = generate(model, n=clips_per_epoch, seconds=clip_seconds,
                             seed=result.epoch, device="cpu")
            torch.set_num_threads(threads)
            gen_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            analyses = [analyze(c, SR, index) for c in clips]  # type: ignore[union-attr]
            analyse_s = time.perf_counter() - t0
            pooled = FrameStats.empty(32)
            for a in analyses:
                if a.stats is not None:
                    pooled = pooled + a.stats
            rows.append({
                "epoch": result.epoch, "valid_nll_bits": round(result.valid_nll_bits, 4),
                "style_distance": round(frechet_distance(pooled, index.style_stats), 3)
                if pooled.n >= 2 else None,
                "flagged_share": round(sum(1 for a in analyses if a.raised) / len(analyses), 3),
                "flags": sorted({f.name for a in analyses for f in a.raised}),
                "mean_quality": round(float(np.mean([a.quality for a in analyses])), 4),
                "train_s": round(result.seconds, 2), "generate_s": round(gen_s, 2),
                "analyse_s": round(analyse_s, 3),
            })

        train(tiny.model, train_cfg, Path(tmp) / "ds", Path(tmp) / "run", on_epoch=on_epoch)
        chunks = load_split(Path(tmp) / "ds", "test")
        own = FrameStats.empty(32)
        for chunk in chunks:
            stats = analyze(chunk, SR, index).stats
            if stats is not None:
                own = own + stats
        noise = analyze(np.random.default_rng(0).standard_normal(8 * SR) * 0.2, SR, index)
    return {
        "epochs": rows,
        "album_against_itself": round(frechet_distance(index.style_stats, index.style_stats), 6),
        "album_test_chunks": round(frechet_distance(own, index.style_stats), 3),
        "white_noise": noise.style_distance,
        "clips_per_epoch": clips_per_epoch, "clip_seconds": clip_seconds,
    }


def bench_quality(
    *, album_minutes: float = 60.0, clip_minutes: float = 1.0, repeats: int = 3,
    run_epochs: int = 6, clips_per_epoch: int = 4, clip_seconds: float = 4.0, threads: int = 1,
) -> dict[str, Any]:
    """Every figure above as one JSON-able dict (`run_epochs` 0 skips the real run)."""
    load_before = os.getloadavg()
    result: dict[str, Any] = {
        "benchmark": "quality",
        "flags": bench_flags(clip_minutes, repeats),
        "closeness": bench_closeness(album_minutes, clip_minutes, repeats),
    }
    if run_epochs:
        result["run"] = bench_run(run_epochs, clips_per_epoch, clip_seconds, threads)
    result.update(
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in os.getloadavg()],
        cpu=platform.processor() or platform.machine(), cpu_count=os.cpu_count(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"), numpy=np.__version__,
    )
    return result
