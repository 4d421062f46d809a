"""Waveform peaks for the browser: one JSON document that both wavesurfer.js 8 and
peaks.js / waveform-data load, so the page can draw a clip before downloading its audio.

- wavesurfer.js: `WaveSurfer.create({peaks: doc.peaks, duration: doc.duration, ...})`. `peaks` holds
  one list per channel; each value is the sample of largest magnitude in its bucket, signed,
  rounded to 4 decimals (what wavesurfer's own `exportPeaks()` produces).
- waveform-data (peaks.js): `WaveformData.create(doc)` reads the audiowaveform JSON format,
  version 2: `channels`, `sample_rate`, `samples_per_pixel`, `bits` (8), `length` (buckets) and
  `data` (min, max, min, max, ... as integers in -128..127). Extra keys are ignored by both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT_VERSION = 2
BITS = 8


def compute_peaks(
    audio: npt.ArrayLike,
    sample_rate: int,
    *,
    samples_per_pixel: int = 256,
    pixels: int | None = None,
) -> dict[str, Any]:
    """Min/max per bucket of `samples_per_pixel` samples (or of n/pixels when `pixels` is given).

    Parameters
    ----------
    audio : np.ndarray[float, n] or [n, channels]
        samples in [-1, 1]; channels are mixed down to one.
    sample_rate : int
        Hz; sets `duration` (seconds).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError(f"audio must be [n] or [n, channels], got shape {x.shape}")
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    n = x.shape[0]
    if pixels is not None:
        if pixels < 1:
            raise ValueError(f"pixels must be >= 1, got {pixels}")
        samples_per_pixel = max(1, math.ceil(n / pixels))
    if samples_per_pixel < 1:
        raise ValueError(f"samples_per_pixel must be >= 1, got {samples_per_pixel}")

    if n:
        starts = np.arange(0, n, samples_per_pixel)
        lo = np.minimum.reduceat(x, starts)  # (length,)
        hi = np.maximum.reduceat(x, starts)
    else:
        lo = hi = np.zeros(0, dtype=np.float32)
    # 8-bit like audiowaveform's 16-bit >> 8: floor(x * 128), kept inside the int8 range.
    lo8 = np.clip(np.floor(lo * 128.0), -128, 127).astype(np.int64)
    hi8 = np.clip(np.floor(hi * 128.0), -128, 127).astype(np.int64)
    data = np.empty(2 * lo8.shape[0], dtype=np.int64)
    data[0::2], data[1::2] = lo8, hi8
    signed = np.where(np.abs(hi) >= np.abs(lo), hi, lo)  # largest magnitude, with its sign
    return {
        "version": FORMAT_VERSION,
        "channels": 1,
        "sample_rate": int(sample_rate),
        "samples_per_pixel": int(samples_per_pixel),
        "bits": BITS,
        "length": int(lo8.shape[0]),
        "data": data.tolist(),
        "peaks": [np.round(signed.astype(np.float64), 4).tolist()],
        "duration": n / sample_rate,
    }
