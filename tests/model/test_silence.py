"""Silence removal (model/silence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from model.silence import frame_dbfs, map_position, remove_silence

SR = 16000


def tone(seconds: float, amp: float = 0.5, freq: float = 330.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def gap(seconds: float, level_dbfs: float | None = None, seed: int = 0) -> np.ndarray:
    """Digital silence, or white noise at an RMS of `level_dbfs`."""
    n = round(seconds * SR)
    if level_dbfs is None:
        return np.zeros(n, np.float32)
    noise = np.random.default_rng(seed).standard_normal(n)
    return (noise * 10 ** (level_dbfs / 20)).astype(np.float32)


def test_full_scale_sine_is_minus_3_dbfs():
    levels = frame_dbfs(tone(1.0, amp=1.0, freq=1000.0), SR)
    assert levels.shape == (50,)  # 20 ms frames
    np.testing.assert_allclose(levels, -3.01, atol=0.05)
    assert frame_dbfs(np.zeros(SR, np.float32), SR).max() < -150


def test_three_seconds_of_silence_are_removed_keeping_margins():
    x = np.concatenate([tone(2.0), gap(3.0), tone(2.0)])
    y, report = remove_silence(x, SR)
    assert report.n_cuts == 1
    # 3 s minus the 50 ms margins at each side (give or take a 20 ms frame).
    assert report.seconds_removed == pytest.approx(2.9, abs=0.03)
    assert report.seconds_before == pytest.approx(7.0)
    assert report.seconds_after == pytest.approx(len(y) / SR)
    # Both tones survive whole: their energy is all still there.
    assert np.sum(y.astype(np.float64) ** 2) == pytest.approx(np.sum(x.astype(np.float64) ** 2))
    assert y.dtype == np.float32


def test_short_pause_is_kept():
    x = np.concatenate([tone(1.0), gap(0.3), tone(1.0)])
    y, report = remove_silence(x, SR, min_seconds=0.5)
    assert report.n_cuts == 0 and report.seconds_removed == 0
    np.testing.assert_array_equal(y, x)


def test_quiet_noise_is_silence_but_louder_noise_is_not():
    quiet = np.concatenate([tone(1.0), gap(2.0, -60.0), tone(1.0)])
    assert remove_silence(quiet, SR)[1].seconds_removed == pytest.approx(1.9, abs=0.03)
    loud = np.concatenate([tone(1.0), gap(2.0, -40.0), tone(1.0)])
    assert remove_silence(loud, SR)[1].seconds_removed == 0
    # The threshold is a parameter: at -30 dBFS the -40 dBFS noise counts as silence.
    assert remove_silence(loud, SR, threshold_dbfs=-30)[1].seconds_removed > 1.8


def test_leading_and_trailing_silence_go_except_the_margin_next_to_the_music():
    x = np.concatenate([gap(1.0), tone(1.0), gap(1.0)])
    y, report = remove_silence(x, SR)
    assert report.n_cuts == 2
    assert len(y) == pytest.approx(1.1 * SR, abs=0.02 * SR)  # the tone plus 50 ms each side
    assert len(remove_silence(x, SR, margin_seconds=0)[0]) == pytest.approx(SR, abs=0.02 * SR)


def test_all_silent_input_gives_nothing():
    y, report = remove_silence(gap(2.0), SR)
    assert len(y) == 0 and report.seconds_after == 0 and report.kept == ()
    assert remove_silence(np.zeros(0, np.float32), SR)[0].shape == (0,)


def test_map_position_follows_the_cuts():
    x = np.concatenate([tone(1.0), gap(2.0), tone(1.0)])
    y, report = remove_silence(x, SR)
    removed = len(x) - len(y)
    assert map_position(report.kept, 0) == 0
    assert map_position(report.kept, SR // 2) == SR // 2  # before the cut: unchanged
    assert map_position(report.kept, 3 * SR) == 3 * SR - removed  # after it: shifted
    assert map_position(report.kept, len(x)) == len(y)
    second_tone = map_position(report.kept, 3 * SR)
    np.testing.assert_array_equal(y[second_tone : second_tone + 100], x[3 * SR : 3 * SR + 100])


def test_bad_parameters_are_value_errors():
    with pytest.raises(ValueError, match="min_seconds"):
        remove_silence(tone(1.0), SR, min_seconds=0)
    with pytest.raises(ValueError, match="mono"):
        frame_dbfs(np.zeros((10, 2)), SR)
