"""Style distance: lowest for the album against itself, and it falls as clips get closer to the
album's sound (a fixture of clips made from the demo synth at quality levels a run goes
through: noise, music buried in noise, cleaner music, the album's own chunks)."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis import analyze
from model.closeness import AlbumIndex
from model.frame_features import frame_features
from model.preprocess import to_mono
from model.style import FrameStats, frechet_distance
from model.synth import demo_album, demo_track
from tests.model import signals as s


@pytest.fixture(scope="module")
def index() -> AlbumIndex:
    tracks = [to_mono(a) for _, a in demo_album(40.0, s.SR, 3, seed=0)]
    return AlbumIndex.build([(str(i), f"t{i}", (lambda a=a: (a, s.SR))) for i, a in enumerate(tracks)])


def pooled(index: AlbumIndex, clips: list[np.ndarray]) -> float:
    total = FrameStats.empty(32)
    for clip in clips:
        stats = analyze(clip, s.SR, index).stats
        assert stats is not None
        total = total + stats
    return frechet_distance(total, index.style_stats)


def test_the_album_against_itself_is_zero_and_lowest(index: AlbumIndex) -> None:
    assert frechet_distance(index.style_stats, index.style_stats) == pytest.approx(0.0, abs=1e-6)
    album = np.concatenate([to_mono(a) for _, a in demo_album(40.0, s.SR, 3, seed=0)])
    rng = np.random.default_rng(0)
    chunks = [album[o : o + 8 * s.SR] for o in rng.integers(0, len(album) - 8 * s.SR, 8)]
    own = pooled(index, chunks)
    others = pooled(index, [to_mono(demo_track(9.0, s.SR, 50 + i))[: 8 * s.SR] for i in range(8)])
    assert 0.0 < own < others


def test_style_distance_falls_as_the_clips_get_closer_to_the_album(index: AlbumIndex) -> None:
    music = [to_mono(demo_track(9.0, s.SR, 60 + i))[: 8 * s.SR] for i in range(6)]
    levels = {  # roughly what a run goes through, epoch after epoch
        "noise": [s.white_noise(8.0, seed=i) for i in range(6)],
        "buried": [s.with_noise(m, 0.0, seed=i) for i, m in enumerate(music)],
        "noisy": [s.with_noise(m, 10.0, seed=i) for i, m in enumerate(music)],
        "clean": music,
    }
    distances = [pooled(index, clips) for clips in levels.values()]
    assert distances == sorted(distances, reverse=True), dict(zip(levels, distances, strict=True))
    assert distances[0] > 3 * distances[-1]


def test_stats_pool_exactly() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((50, 4)), rng.standard_normal((70, 4)) + 1
    whole = FrameStats.of(np.concatenate([a, b]))
    parts = FrameStats.of(a) + FrameStats.of(b)
    assert np.allclose(whole.fit()[0], parts.fit()[0]) and np.allclose(whole.fit()[1], parts.fit()[1])
    assert frechet_distance(FrameStats.of(a), FrameStats.of(b)) > 3.0  # the means are 2 apart


def test_a_clip_style_distance_is_recorded(index: AlbumIndex) -> None:
    near = analyze(to_mono(demo_track(9.0, s.SR, 70))[: 8 * s.SR], s.SR, index)
    far = analyze(s.music(8.0, seed=3), s.SR, index)
    assert near.style_distance is not None and far.style_distance is not None
    assert near.style_distance < far.style_distance
    assert near.quality > far.quality


def test_features_of_a_frame_have_the_documented_shapes() -> None:
    f = frame_features(s.music(2.0), s.SR)
    assert f.frames == 40 and f.vectors().shape == (40, 32) and f.spectra().shape == (40, 52)
    assert f.mel_db.shape == (40, 40) and f.chroma.max() <= 1.0 + 1e-6
