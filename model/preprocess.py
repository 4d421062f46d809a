"""Decoded audio -> the model's form: one channel, no DC offset, the model's sample rate.

These run between `model.audio.decode` and silence removal when a dataset is prepared (and when
the engine CLI primes generation from a file). Like `model.audio`, it never imports torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def to_mono(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """Average the channels.

    Parameters
    ----------
    x : np.ndarray[frames x channels] or np.ndarray[frames]

    Returns
    -------
    np.ndarray[float32, frames]
    """
    if x.ndim == 1:
        return x.astype(np.float32, copy=False)
    if x.ndim != 2:
        raise ValueError(f"expected audio of shape (frames,) or (frames, channels), got {x.shape}")
    mono: npt.NDArray[np.float32] = x.mean(axis=1, dtype=np.float64).astype(np.float32)
    return mono


def remove_dc(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """Subtract each channel's mean.

    An offset would lift "silent" passages above the silence threshold and waste quantization
    levels, so it goes before silence removal. A mean (not a high-pass filter) leaves the music's
    own low end untouched.

    Parameters
    ----------
    x : np.ndarray[frames] or np.ndarray[frames x channels]
    """
    if len(x) == 0:
        return x.astype(np.float32, copy=False)
    centred: npt.NDArray[np.float32] = (x - x.mean(axis=0, dtype=np.float64)).astype(np.float32)
    return centred


def resample(
    x: npt.NDArray[np.floating[Any]], sr_in: int, sr_out: int
) -> npt.NDArray[np.float32]:
    """Change the sample rate with soxr's high-quality filter.

    Parameters
    ----------
    x : np.ndarray[frames] or np.ndarray[frames x channels]
    sr_in, sr_out : int
        rates in Hz.

    Returns
    -------
    np.ndarray[float32, ~frames * sr_out / sr_in (x channels)]
    """
    if sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_in} -> {sr_out}")
    x32 = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out or len(x32) == 0:
        return x32
    import soxr  # imported here: only dataset preparation resamples, upload checks do not

    return np.asarray(soxr.resample(x32, sr_in, sr_out, quality="HQ"), dtype=np.float32)
