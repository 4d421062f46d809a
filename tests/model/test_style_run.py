"""A real short run on the demo album: the style distance of its clips to the album falls as it
trains (model/bench_quality.py's run, 3 epochs of the tiny preset on this CPU)."""

from __future__ import annotations

import pytest

from model.bench_quality import bench_run


@pytest.mark.slow
def test_style_distance_falls_as_a_real_run_trains() -> None:
    run = bench_run(3, clips_per_epoch=4, clip_seconds=4.0, threads=1)
    distances = [e["style_distance"] for e in run["epochs"]]
    assert len(distances) == 3 and all(d is not None for d in distances)
    assert distances[-1] < 0.6 * distances[0], distances
    # ... and every epoch stays further from the album than the album's own held-out chunks.
    assert run["album_against_itself"] == 0.0
    assert 0 < run["album_test_chunks"] < min(distances) < run["white_noise"]
