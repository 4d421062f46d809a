"""A look-ahead true-peak limiter that guarantees its ceiling (checked by measurement).

The gain curve is built so that it is never above the gain each sample needs:

1. ``need[n] = min(1, ceiling / tp[n])`` where ``tp`` is the per-sample 4× oversampled peak
   (`model.loudness.oversampled_peaks`);
2. ``m = sliding_min(need)`` over the window ``[n - (A - 1), n + (R - 1)]``;
3. ``g = m`` smoothed by a box of ``A`` samples looking ahead followed by a box of ``R`` samples
   looking back. The combined kernel spans exactly the window of step 2, so every value it
   averages is ≤ ``need[n]`` and hence ``g[n] ≤ need[n]``: the gain starts falling ``A`` samples
   (attack / look-ahead) before a peak and recovers over ``R`` samples (release) after it.

Applying a smooth gain can still move inter-sample peaks a little, so `limit_true_peak` measures
the result and, if it is over, lowers the internal ceiling by the excess and runs again; a final
static trim (true peak scales exactly with a constant gain) makes the ceiling a guarantee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.loudness import as_channels, oversampled_peaks

ATTACK_S = 0.005  # look-ahead
RELEASE_S = 0.06
HEADROOM_DB = 0.1  # aim this far under the ceiling, for dither and the inter-sample residue
MAX_PASSES = 4


@dataclass(frozen=True)
class LimiterReport:
    true_peak_in_dbtp: float
    true_peak_out_dbtp: float
    max_reduction_db: float  # deepest gain reduction applied
    limited_fraction: float  # share of samples with any reduction
    passes: int


def limit_true_peak(
    audio: np.ndarray,
    sr: int,
    *,
    ceiling_dbtp: float = -1.0,
    attack_s: float = ATTACK_S,
    release_s: float = RELEASE_S,
) -> tuple[np.ndarray, LimiterReport]:
    """Limit `audio` ([C x n] or [n]) so its 4× oversampled true peak is ≤ `ceiling_dbtp`.

    Returns the limited float64 audio (same shape as channels-first input) and a report.
    Audio already under the ceiling comes back unchanged.
    """
    x = as_channels(audio)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    peaks = oversampled_peaks(x, sr)
    tp_in = float(peaks.max()) if peaks.size else 0.0
    if tp_in <= ceiling * 10.0 ** (-HEADROOM_DB / 40.0):
        return x.copy(), LimiterReport(_db(tp_in), _db(tp_in), 0.0, 0.0, 0)
    attack = max(1, round(attack_s * sr))
    release = max(1, round(release_s * sr))
    aim = ceiling * 10.0 ** (-HEADROOM_DB / 20.0)  # what the gain curve is built for
    accept = ceiling * 10.0 ** (-HEADROOM_DB / 40.0)  # what the measured output must not pass
    target, y, gain, tp_out, passes = aim, x, np.ones(x.shape[1]), tp_in, 0
    while passes < MAX_PASSES and tp_out > accept:
        passes += 1
        gain = gain_curve(peaks, target, attack, release)
        y = x * gain[None, :]
        tp_out = float(oversampled_peaks(y, sr).max())
        target *= aim / tp_out  # overshoot by k dB: aim k dB lower next pass
    if tp_out > accept:  # true peak scales exactly with a constant gain
        trim = aim / tp_out
        y = y * trim
        gain = gain * trim
        tp_out *= trim
    reduced = gain < 1.0 - 1e-9
    return y, LimiterReport(
        true_peak_in_dbtp=_db(tp_in),
        true_peak_out_dbtp=_db(tp_out),
        max_reduction_db=-_db(float(gain.min())) if gain.size else 0.0,
        limited_fraction=float(reduced.mean()) if gain.size else 0.0,
        passes=passes,
    )


def gain_curve(peaks: np.ndarray, ceiling: float, attack: int, release: int) -> np.ndarray:
    """The limiter gain [n] for a per-sample peak envelope; ``gain[n] * peaks[n] <= ceiling``."""
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-30))
    # Unity margins past both ends, wider than the kernel, so the boxes' own edge padding never
    # reaches a real sample (beyond the audio nothing needs reducing).
    margin = attack + release
    ext = np.concatenate([np.ones(margin), need, np.ones(margin)])
    m = sliding_min(ext, before=attack - 1, after=release - 1)
    gain = _box(_box(m, attack, forward=True), release, forward=False)[margin:-margin]
    return np.asarray(
        np.minimum(gain, need)
    )  # min() only absorbs floating-point rounding of the means


def sliding_min(x: np.ndarray, *, before: int, after: int) -> np.ndarray:
    """``out[n] = min(x[n - before : n + after + 1])`` (edges padded with +inf), in O(n).

    van Herk / Gil-Werman: block-wise prefix and suffix minima.
    """
    n = x.shape[0]
    w = before + after + 1
    if n == 0 or w == 1:
        return x.copy()
    nb = math.ceil((n + w - 1) / w) + 1
    padded = np.full(nb * w, np.inf)
    padded[before : before + n] = x  # window of out[n] is padded[n : n + w]
    blocks = padded.reshape(nb, w)
    prefix = np.minimum.accumulate(blocks, axis=1).reshape(-1)
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    start = np.arange(n)
    return np.minimum(suffix[start], prefix[start + w - 1])


def _box(x: np.ndarray, length: int, *, forward: bool) -> np.ndarray:
    """Mean of x[n : n + length] (forward) or x[n - length + 1 : n + 1], edges padded with 1."""
    if length <= 1:
        return x.copy()
    pad = np.ones(length - 1)
    padded = np.concatenate([x, pad]) if forward else np.concatenate([pad, x])
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return np.asarray((c[length:] - c[:-length]) / length)


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf
