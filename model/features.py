"""Clip metrics for sorting and filtering the catalog: loudness, peaks, silence, clipping, DC.

numpy, pyloudnorm (ITU-R BS.1770 loudness) and soxr (oversampling for true peak); no torch, so
the cpu worker and tests can use it cheaply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .loudness import integrated_lufs, true_peak_dbtp

SILENCE_WINDOW_S = 0.05
SILENCE_DBFS = -50.0
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class ClipFeatures:
    """Levels in dB are None where the signal has none (digital silence, too short)."""

    loudness_lufs: float | None  # integrated loudness, BS.1770-4
    peak_dbfs: float | None  # largest |sample|
    true_peak_dbtp: float | None  # largest |sample| after 4x oversampling (inter-sample peaks)
    rms_dbfs: float | None
    silence_ratio: float  # fraction of 50 ms windows with RMS below -50 dBFS
    clipping: float  # fraction of samples with |x| >= 0.999
    dc_offset: float  # mean sample value
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(audio: npt.ArrayLike, sample_rate: int) -> ClipFeatures:
    """Measure a clip.

    Parameters
    ----------
    audio : np.ndarray[float, n] or [n, channels]
        samples in [-1, 1]; all channels count.
    sample_rate : int
        Hz.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    x = np.nan_to_num(np.asarray(audio, dtype=np.float64))
    if x.ndim not in (1, 2):
        raise ValueError(f"audio must be [n] or [n, channels], got shape {x.shape}")
    n = x.shape[0]
    if n == 0:
        return ClipFeatures(None, None, None, None, 1.0, 0.0, 0.0, 0.0)
    peak = float(np.max(np.abs(x)))
    channels_first = x.T if x.ndim == 2 else x
    return ClipFeatures(
        loudness_lufs=_finite(integrated_lufs(channels_first, sample_rate)),
        peak_dbfs=_db(peak),
        true_peak_dbtp=_finite(true_peak_dbtp(channels_first, sample_rate)),
        rms_dbfs=_db(float(np.sqrt(np.mean(x**2)))),
        silence_ratio=silence_ratio(x, sample_rate),
        clipping=float(np.mean(np.abs(x) >= CLIP_LEVEL)),
        dc_offset=float(np.mean(x)),
        duration_s=n / sample_rate,
    )


def silence_ratio(x: npt.NDArray[np.floating[Any]], sample_rate: int) -> float:
    """Fraction of 50 ms windows (the last one may be shorter) quieter than -50 dBFS RMS."""
    mono = x.mean(axis=1) if x.ndim == 2 else x
    window = max(1, int(round(SILENCE_WINDOW_S * sample_rate)))
    starts = np.arange(0, mono.shape[0], window)
    sums = np.add.reduceat(mono**2, starts)
    counts = np.diff(np.append(starts, mono.shape[0]))
    rms = np.sqrt(sums / counts)
    threshold = 10 ** (SILENCE_DBFS / 20)
    return float(np.mean(rms < threshold))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _db(linear: float) -> float | None:
    return 20 * math.log10(linear) if linear > 0 else None
