"""Closeness to the album: an excerpt of the album with noise added is found (track and offset
within 0.1 s) and flagged copied; other music in the same style is not; the index round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.analysis import analyze
from model.closeness import INDEX_NAME, AlbumIndex, index_path, match
from model.frame_features import frame_features
from model.synth import demo_track, through_composed
from tests.model import signals as s


def build(tracks: list[np.ndarray]) -> AlbumIndex:
    return AlbumIndex.build(
        [(f"id{i}", f"0{i + 1} Track", (lambda a=a: (a, s.SR))) for i, a in enumerate(tracks)]
    )


@pytest.fixture(scope="module")
def album() -> list[np.ndarray]:
    """Three 40 s tracks that never repeat themselves."""
    return [through_composed(40.0, s.SR, 100 + i) for i in range(3)]


@pytest.fixture(scope="module")
def index(album: list[np.ndarray]) -> AlbumIndex:
    return build(album)


@pytest.mark.parametrize("snr_db", [30.0, 15.0])
@pytest.mark.parametrize("track, offset", [(1, 23.37), (2, 4.81), (0, 31.1)])
def test_an_excerpt_with_noise_is_copied_from_the_right_moment(
    album: list[np.ndarray], index: AlbumIndex, track: int, offset: float, snr_db: float
) -> None:
    a = round(offset * s.SR)
    clip = s.with_noise(album[track][a : a + 8 * s.SR], snr_db, seed=track)
    result = analyze(clip, s.SR, index)
    c = result.closeness
    assert c is not None and c.copied and c.source == f"id{track}"
    # the source moment that matches the clip's `clip_offset_s`
    assert c.source_offset_s - c.clip_offset_s == pytest.approx(offset, abs=0.1)
    assert c.longest_run_s > 7.0 and c.seconds_matched > 7.0 and c.share > 0.85
    copied = [f for f in result.raised if f.name == "copied"]
    assert copied and "follows 0" in copied[0].reason
    assert result.hard


def test_a_clip_that_borrows_six_seconds_in_the_middle(album: list[np.ndarray], index: AlbumIndex) -> None:
    own = s.music(10.0, seed=9)
    borrowed = album[0][round(12.0 * s.SR) : round(18.0 * s.SR)]
    clip = np.concatenate([own[: 3 * s.SR], borrowed, own[3 * s.SR : 6 * s.SR]])
    c = match(frame_features(clip, s.SR), index)
    assert c is not None and c.copied
    assert c.clip_offset_s == pytest.approx(3.0, abs=0.3)
    assert c.source_offset_s - c.clip_offset_s == pytest.approx(12.0 - 3.0, abs=0.1)
    assert c.longest_run_s == pytest.approx(6.0, abs=0.6)
    assert 0.4 < c.share < 0.6


@pytest.mark.parametrize("seed", [5, 9, 13])
def test_other_music_in_the_same_style_is_not_copied(index: AlbumIndex, seed: int) -> None:
    result = analyze(s.music(10.0, seed=seed), s.SR, index)
    assert result.closeness is not None and not result.closeness.copied
    assert result.closeness.longest_run_s < 2.0
    assert result.raised == []


def test_tracks_of_a_repetitive_album_do_not_copy_each_other() -> None:
    """The demo album's tracks share one drum kit and a tempo range: timbre alike, no copy."""
    from model.preprocess import to_mono

    album = build([to_mono(demo_track(30.0, s.SR, seed)) for seed in (1, 2, 3)])
    for seed in (21, 33, 45):
        c = match(frame_features(to_mono(demo_track(12.0, s.SR, seed))[: 10 * s.SR], s.SR), album)
        assert c is not None and c.longest_run_s < 3.0 and not c.copied


def test_silence_has_no_closeness(index: AlbumIndex) -> None:
    result = analyze(s.silence(), s.SR, index)
    assert result.closeness is None
    assert {f.name for f in result.raised} == {"silent"}


def test_the_index_round_trips_and_refuses_a_foreign_file(index: AlbumIndex, tmp_path: Path) -> None:
    path = index_path(tmp_path)
    assert path.name == INDEX_NAME
    index.save(path)
    loaded = AlbumIndex.load(path)
    assert loaded.sources == index.sources
    for name in ("spectra", "vectors", "active", "mean", "std", "centre"):
        assert np.array_equal(getattr(loaded, name), getattr(index, name)), name
    assert [p.name for p in tmp_path.iterdir()] == [INDEX_NAME]  # no temporary left behind
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not an album index"):
        AlbumIndex.load(tmp_path / "other.npz")


def test_an_album_of_silence_cannot_be_indexed() -> None:
    with pytest.raises(ValueError, match="silent"):
        build([s.silence(5.0)])
