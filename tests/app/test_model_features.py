"""model/features.py with synthesized signals of known level."""

from __future__ import annotations

import numpy as np
import pytest

from model.features import measure

SR = 16000


def sine(db: float, seconds: float = 3.0, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (10 ** (db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_sine_at_minus_20_dbfs() -> None:
    f = measure(sine(-20.0), SR)
    assert f.peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert f.loudness_lufs == pytest.approx(-23.0, abs=0.2)  # BS.1770: full-scale 1 kHz = -3 LUFS
    assert f.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)
    assert f.rms_dbfs == pytest.approx(-23.01, abs=0.05)
    assert f.silence_ratio == 0.0 and f.clipping == 0.0
    assert abs(f.dc_offset) < 1e-6


def test_silence_has_no_levels() -> None:
    f = measure(np.zeros(SR * 2, dtype=np.float32), SR)
    assert f.loudness_lufs is None and f.peak_dbfs is None and f.true_peak_dbtp is None
    assert f.silence_ratio == 1.0


def test_half_silent_clip() -> None:
    x = np.concatenate([sine(-10.0, 1.0), np.zeros(SR, dtype=np.float32)])
    assert measure(x, SR).silence_ratio == pytest.approx(0.5, abs=0.03)


def test_clipping_and_dc() -> None:
    x = np.clip(sine(6.0), -1.0, 1.0) + 0.0
    f = measure(x, SR)
    assert f.clipping > 0.3
    assert measure(np.full(SR, 0.25, dtype=np.float32), SR).dc_offset == pytest.approx(0.25)


def test_inter_sample_peak_exceeds_sample_peak() -> None:
    # fs/4 sine sampled at +-45 degrees: every sample is 0.707 of the true peak.
    n = np.arange(SR)
    x = np.sin(2 * np.pi * 0.25 * n + np.pi / 4).astype(np.float32) * 0.5
    f = measure(x, SR)
    assert f.true_peak_dbtp is not None and f.peak_dbfs is not None
    assert f.true_peak_dbtp - f.peak_dbfs == pytest.approx(3.0, abs=0.3)


def test_too_short_for_loudness() -> None:
    assert measure(sine(-20.0, 0.2), SR).loudness_lufs is None
