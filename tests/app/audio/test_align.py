import numpy as np
import pytest

from app.audio.align import auto_align, mono_sum_cancellation, onset_envelope

SR = 16000


def _drum_pattern(seconds: float, seed: int, *, tonal: bool = False) -> np.ndarray:
    """Decaying hits at irregular times (no period, so only one lag lines them up)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = 0.003 * rng.standard_normal(n)  # a little hiss, as SampleRNN leaves
    t = np.arange(int(0.08 * SR)) / SR
    decay = np.exp(-t / 0.015)
    for start in np.cumsum(rng.uniform(0.12, 0.45, size=40)):
        i = int(start * SR)
        if i + t.size >= n:
            break
        if tonal:
            hit = np.sin(2 * np.pi * rng.uniform(150, 400) * t) * decay
        else:
            hit = rng.standard_normal(t.size) * decay
        out[i : i + t.size] += rng.uniform(0.3, 1.0) * hit
    return out


def _delay(x: np.ndarray, seconds: float) -> np.ndarray:
    d = round(seconds * SR)
    return (
        np.concatenate([np.zeros(d), x])[: x.size]
        if d >= 0
        else np.concatenate([x[-d:], np.zeros(-d)])
    )


def test_onset_envelope_peaks_at_a_click() -> None:
    x = np.zeros(SR)
    x[8000:8040] = 1.0
    env, rate = onset_envelope(x, SR)
    assert rate == pytest.approx(500.0)
    assert abs(np.argmax(env) / rate - 0.5) <= 0.01


def test_auto_align_recovers_a_123_ms_delay() -> None:
    a = _drum_pattern(6.0, 1)
    b = _delay(a, 0.123)
    assert auto_align(a, b, SR) == pytest.approx(0.123, abs=0.005)
    assert auto_align(b, a, SR) == pytest.approx(-0.123, abs=0.005)


def test_auto_align_lines_up_different_sounds_on_the_same_beats() -> None:
    # Same hit times (seed), different timbre: what two layered lanes look like.
    a = _drum_pattern(6.0, 2)
    b = _delay(_drum_pattern(6.0, 2, tonal=True), 0.123)
    assert auto_align(a, b, SR) == pytest.approx(0.123, abs=0.005)


def test_auto_align_stays_within_max_shift() -> None:
    a = _drum_pattern(4.0, 3)
    b = _delay(a, 0.3)
    assert abs(auto_align(a, b, SR, max_shift_s=0.1)) <= 0.1 + 1e-9
    assert auto_align(np.zeros(SR), a[:SR], SR) == 0.0


def test_uncorrelated_lanes_do_not_warn() -> None:
    rng = np.random.default_rng(4)
    left, right = rng.standard_normal(SR), rng.standard_normal(SR)
    report = mono_sum_cancellation(left, right, sample_rate=SR)
    assert abs(report["correlation"]) < 0.05
    assert abs(report["loss_db"]) < 0.3
    assert report["warning"] is False and report["message"] is None


def test_identical_lanes_gain_3_db_in_mono() -> None:
    x = np.random.default_rng(5).standard_normal(SR)
    report = mono_sum_cancellation(x, x)
    assert report["correlation"] == pytest.approx(1.0)
    assert report["loss_db"] == pytest.approx(-3.0103, abs=1e-3)
    assert not report["warning"]


def test_polarity_inverted_copy_warns() -> None:
    x = np.random.default_rng(6).standard_normal(SR)
    report = mono_sum_cancellation(x, -x)
    assert report["correlation"] == pytest.approx(-1.0)
    assert report["loss_db"] > 60
    assert report["warning"] is True
    assert "cancel" in report["message"]


def test_a_cancelling_stretch_is_caught_by_the_window_check() -> None:
    rng = np.random.default_rng(7)
    left = rng.standard_normal(10 * SR)
    right = rng.standard_normal(10 * SR)
    right[3 * SR : 4 * SR] = -left[3 * SR : 4 * SR]  # one second out of ten cancels
    whole = mono_sum_cancellation(left, right)
    assert not whole["warning"]
    windowed = mono_sum_cancellation(left, right, sample_rate=SR)
    assert windowed["worst_window_loss_db"] > 60 and windowed["warning"]


def test_silence_is_not_a_cancellation() -> None:
    report = mono_sum_cancellation(np.zeros(100), np.zeros(100), sample_rate=SR)
    assert report["loss_db"] == 0.0 and not report["warning"]
    with pytest.raises(ValueError, match="length"):
        mono_sum_cancellation(np.zeros(3), np.zeros(4))
