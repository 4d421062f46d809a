"""Frame features of audio: one short-time spectrum, one hop, for every quality measure.

Every clip and the album are read the same way: mono, resampled to `ANALYSIS_SR` (16 kHz), cut
into Hann-windowed frames of `N_FFT` samples every `HOP` samples (50 ms), and each frame becomes

- `mel_db`  : 40 log-mel band energies (dB), 30 Hz .. 8 kHz;
- `mfcc`    : the DCT-II of `mel_db`, coefficients 0..19 (c0 is the frame's overall level);
- `chroma`  : energy per pitch class (12, C first) from 55 Hz to 4 kHz, each frame scaled so its
              strongest class is 1;
- `noisiness`: the share of the frame's energy outside spectral peaks (bins well above their
              local average), 0..1: ~0.9 for noise of any colour (white, pink, brown), well
              below for pitched sound, even under some noise (the local average removes the
              spectrum's slope but keeps its peaks);
- `rms_db`  : RMS level of the hop's samples, dBFS;
- `rail`    : fraction of the hop's samples at full scale (|x| >= 0.99).

`vectors()` joins MFCC and chroma into the 32-number description of a frame that style distance
and the loop detector compare; `spectra()` is the 52-number shape of a frame's spectrum that
closeness to the album compares (numpy only: no librosa, no numba, no downloaded weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from model.preprocess import resample, to_mono

ANALYSIS_SR = 16000  # Hz
HOP = 800  # samples: 50 ms, 20 frames per second
N_FFT = 2048  # samples: a 128 ms window, fine enough for the pitch classes of bass notes
N_MELS = 40
N_MFCC = 20
MEL_RANGE_HZ = (30.0, 8000.0)
CHROMA_RANGE_HZ = (55.0, 4000.0)
RAIL = 0.99  # |sample| at or above this is "at full scale"
WHITEN_BINS = 33  # width of the local average that whitens the spectrum (~260 Hz)
PEAK_RATIO = 4.0  # a bin this many times its local average is part of a spectral peak
BLOCK_FRAMES = 2048  # frames transformed at a time: bounded memory for an album
CHROMA_WEIGHT = 0.7
_EPS = 1e-10

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FrameFeatures:
    """Per-frame features of one piece of audio; frame t covers samples [t * HOP, t * HOP + N_FFT)
    of the 16 kHz signal (the signal is padded by N_FFT / 2 on both sides, so frame t is centred
    on t * HOP)."""

    mel_db: Array  # (T, N_MELS)
    mfcc: Array  # (T, N_MFCC)
    chroma: Array  # (T, 12)
    noisiness: Array  # (T,)
    rms_db: Array  # (T,)
    rail: Array  # (T,)
    duration_s: float

    @property
    def frames(self) -> int:
        return int(self.rms_db.shape[0])

    def vectors(self) -> Array:
        """(T, 32): MFCC c0..c19 and chroma, what style distance compares (and loops)."""
        return np.concatenate([self.mfcc, self.chroma], axis=1).astype(np.float32)

    def spectra(self) -> Array:
        """(T, 52): the shape of each frame's spectrum, what closeness compares: the square root
        of the mel band powers and the chroma, each scaled to unit length (chroma weighted
        0.7). Compressed power, not dB: noise added to a copy lifts the empty bands a little
        instead of by tens of dB."""
        mel = np.sqrt(10 ** (self.mel_db.astype(np.float64) / 10))
        mel /= np.linalg.norm(mel, axis=1, keepdims=True) + _EPS
        chroma = self.chroma / (np.linalg.norm(self.chroma, axis=1, keepdims=True) + _EPS)
        return np.concatenate([mel, CHROMA_WEIGHT * chroma], axis=1).astype(np.float32)


def seconds_of(frames: float) -> float:
    """Frame count (or index) -> seconds."""
    return float(frames) * HOP / ANALYSIS_SR


def frame_of(seconds: float) -> int:
    return int(round(seconds * ANALYSIS_SR / HOP))


def analysis_audio(audio: npt.ArrayLike, sample_rate: int) -> Array:
    """Mono float32 at ANALYSIS_SR; NaN/inf become 0."""
    x = np.nan_to_num(np.asarray(audio, dtype=np.float32))
    if x.ndim == 2:
        x = to_mono(x)
    if x.ndim != 1:
        raise ValueError(f"audio must be [n] or [n, channels], got shape {x.shape}")
    return resample(x, sample_rate, ANALYSIS_SR) if sample_rate != ANALYSIS_SR else x


def frame_features(audio: npt.ArrayLike, sample_rate: int) -> FrameFeatures:
    """The frame features of `audio` (samples in [-1, 1], [n] or [n, channels]) at `sample_rate`
    Hz. Audio shorter than one hop gives zero frames."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    x = analysis_audio(audio, sample_rate)
    n_frames = len(x) // HOP
    mel_fb, chroma_fb = _filterbanks()
    dct = _dct_matrix()
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP))
    window = np.hanning(N_FFT).astype(np.float32)
    mel = np.empty((n_frames, N_MELS), np.float32)
    chroma = np.empty((n_frames, 12), np.float32)
    noisy = np.empty(n_frames, np.float32)
    for start in range(0, n_frames, BLOCK_FRAMES):
        stop = min(n_frames, start + BLOCK_FRAMES)
        idx = np.arange(start, stop)[:, None] * HOP + np.arange(N_FFT)[None, :]
        power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)).astype(np.float32) ** 2
        mel[start:stop] = 10 * np.log10(power @ mel_fb + _EPS)
        c = power @ chroma_fb  # (B, 12)
        chroma[start:stop] = c / (c.max(axis=1, keepdims=True) + _EPS)
        noisy[start:stop] = noisiness(power)
    body = x[: n_frames * HOP].reshape(n_frames, HOP)
    rms = np.sqrt(np.mean(body.astype(np.float64) ** 2, axis=1))
    return FrameFeatures(
        mel_db=mel,
        mfcc=(mel @ dct).astype(np.float32),
        chroma=chroma,
        noisiness=noisy,
        rms_db=(20 * np.log10(np.maximum(rms, _EPS))).astype(np.float32),
        rail=np.mean(np.abs(body) >= RAIL, axis=1).astype(np.float32),
        duration_s=len(x) / ANALYSIS_SR,
    )


def noisiness(power: npt.NDArray[np.floating[Any]]) -> Array:
    """Share of each row's energy (`power` (B, bins)) that is not in spectral peaks, 0..1. A
    peak is a bin at least PEAK_RATIO times its moving average over WHITEN_BINS bins: the
    average removes the spectrum's slope, so noise of any colour is ~0.9 here (its bins scatter
    around their average), while pitched sound keeps most of its energy in peaks even under
    noise 10 dB down (~0.4). DC and the lowest bins are left out."""
    p = power[:, 4:].astype(np.float64) + _EPS
    k = WHITEN_BINS
    c = np.cumsum(np.pad(p, ((0, 0), (k // 2 + 1, k // 2)), mode="edge"), axis=1)
    local = (c[:, k:] - c[:, :-k]) / k  # (B, bins - 4): the centred moving average
    in_peaks = np.where(p >= PEAK_RATIO * local, p, 0.0).sum(axis=1)
    share: Array = (1.0 - in_peaks / p.sum(axis=1)).astype(np.float32)
    return share


@cache
def _filterbanks() -> tuple[Array, Array]:
    """(bins, N_MELS) triangular mel filters and (bins, 12) pitch-class masks (constants)."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / ANALYSIS_SR)
    lo, hi = (2595 * np.log10(1 + f / 700) for f in MEL_RANGE_HZ)
    edges = 700 * (10 ** (np.linspace(lo, hi, N_MELS + 2) / 2595) - 1)
    fb = np.zeros((len(freqs), N_MELS), np.float32)
    for m in range(N_MELS):
        left, centre, right = edges[m : m + 3]
        up = (freqs - left) / (centre - left)
        down = (right - freqs) / (right - centre)
        fb[:, m] = np.maximum(0, np.minimum(up, down))
    fb /= np.maximum(fb.sum(axis=0, keepdims=True), _EPS)  # each band an average of its bins
    chroma = np.zeros((len(freqs), 12), np.float32)
    inside = (freqs >= CHROMA_RANGE_HZ[0]) & (freqs <= CHROMA_RANGE_HZ[1])
    pitch = np.round(12 * np.log2(np.maximum(freqs[inside], 1) / 440.0)).astype(int) + 9
    chroma[np.flatnonzero(inside), pitch % 12] = 1.0
    return fb, chroma


@cache
def _dct_matrix() -> Array:
    """(N_MELS, N_MFCC) orthonormal DCT-II."""
    n = np.arange(N_MELS)[:, None]
    k = np.arange(N_MFCC)[None, :]
    d = np.cos(np.pi / N_MELS * (n + 0.5) * k) * np.sqrt(2.0 / N_MELS)
    d[:, 0] /= np.sqrt(2.0)
    dct: Array = d.astype(np.float32)
    return dct
