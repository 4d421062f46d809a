"""Level measurements: BS.1770 integrated loudness and 4× oversampled true peak.

One implementation for clip features (`model.features`) and album mastering (`app.audio.master`).
numpy, pyloudnorm and soxr only (no torch), so the web app may import it.
Audio here is channels-first float [C x n] (or mono [n]), full scale ±1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyloudnorm
import soxr

OVERSAMPLE = 4  # BS.1770-4 Annex 2: 4× for 48 kHz; we use it at 44.1 kHz too
CHUNK = 1 << 16  # input frames per resampling step


def as_channels(audio: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """float64 [C x n] view of mono [n] or channels-first [C x n] audio."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        return x[None, :]
    if x.ndim != 2 or x.shape[0] > 8:
        raise ValueError(f"expected mono [n] or channels-first [C x n] audio, got shape {x.shape}")
    return x


def integrated_lufs(audio: npt.ArrayLike, sr: int) -> float:
    """ITU-R BS.1770-4 integrated loudness (pyloudnorm) in LUFS; −inf for silence or < 0.4 s."""
    x = as_channels(audio)
    if x.shape[1] < math.ceil(0.4 * sr) + 1:
        return -math.inf
    value = float(pyloudnorm.Meter(sr).integrated_loudness(x.T))
    return value if math.isfinite(value) else -math.inf


def oversampled_peaks(audio: npt.ArrayLike, sr: int) -> npt.NDArray[np.float64]:
    """Per-sample true-peak envelope, float64 [n]: the largest |value| over all channels of the
    4× oversampled signal (soxr, VHQ) in [i, i + 1), and of sample i itself.

    Resampled in chunks (soxr's stream gives the same samples as one call), so a long track never
    holds its whole 4× copy in memory.
    """
    x = as_channels(audio)
    channels, n = x.shape
    if n == 0:
        return np.zeros(0)
    stream = soxr.ResampleStream(sr, OVERSAMPLE * sr, channels, dtype="float64", quality="VHQ")
    out = np.empty(n)
    filled, pending = 0, np.zeros(0)
    for start in range(0, n, CHUNK):
        block = np.ascontiguousarray(x[:, start : start + CHUNK].T)
        up = stream.resample_chunk(block, last=start + CHUNK >= n)  # (~4 * len, C)
        pending = np.concatenate([pending, _max_abs_columns(up)])
        whole = min(pending.shape[0] // OVERSAMPLE, n - filled)
        out[filled : filled + whole] = _max_abs_columns(
            pending[: whole * OVERSAMPLE].reshape(whole, OVERSAMPLE)
        )
        filled += whole
        pending = pending[whole * OVERSAMPLE :]
    if filled < n:  # soxr came up short by a few samples at the very end
        tail = np.concatenate([pending, np.zeros((n - filled) * OVERSAMPLE - pending.shape[0])])
        out[filled:] = _max_abs_columns(tail[: (n - filled) * OVERSAMPLE].reshape(-1, OVERSAMPLE))
    return np.asarray(np.maximum(out, _max_abs_columns(x.T)))


def _max_abs_columns(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """max(|a[:, j]|) over the few columns j; numpy's axis=1 reduction is slow on narrow rows."""
    result: npt.NDArray[np.float64] = np.abs(a[:, 0])
    for j in range(1, a.shape[1]):
        np.maximum(result, np.abs(a[:, j]), out=result)
    return result


def true_peak_dbtp(audio: npt.ArrayLike, sr: int) -> float:
    """True peak in dBTP (4× oversampling); −inf for silence."""
    peaks = oversampled_peaks(audio, sr)
    peak = float(peaks.max()) if peaks.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


@dataclass(frozen=True)
class TrackMeasurement:
    """What the export records per track (and per album)."""

    integrated_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; −inf (silence) becomes None, values rounded to 0.01 (0.001 s)."""

        def num(v: float, digits: int = 2) -> float | None:
            return round(v, digits) if math.isfinite(v) else None

        return {
            "integrated_lufs": num(self.integrated_lufs),
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "sample_peak_dbfs": num(self.sample_peak_dbfs),
            "duration_s": num(self.duration_s, 3),
        }


def measure(audio: npt.ArrayLike, sr: int) -> TrackMeasurement:
    x = as_channels(audio)
    peak = float(np.abs(x).max()) if x.size else 0.0
    return TrackMeasurement(
        integrated_lufs=integrated_lufs(x, sr),
        true_peak_dbtp=true_peak_dbtp(x, sr),
        sample_peak_dbfs=20.0 * math.log10(peak) if peak > 0 else -math.inf,
        duration_s=x.shape[1] / sr,
    )
