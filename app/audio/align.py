"""Lining up layered lanes: onset envelopes, cross-correlation auto-align, mono-sum check.

The paper's "Megaturing" builds a stereo image from two mono generations: one on the left, one on
the right, their accent beats lined up and then left to drift. `auto_align` finds the shift that
lines the accents up; `mono_sum_cancellation` warns when the two sides cancel in a mono fold-down.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

HOP_S = 0.002  # onset envelope resolution; parabolic interpolation refines below it
FRAME_S = 0.016
MONO_LOSS_WARN_DB = 3.0
SILENT_POWER = 1e-12  # −120 dBFS: below this a channel counts as silent


def onset_envelope(
    audio: np.ndarray, sr: int, *, hop_s: float = HOP_S, frame_s: float = FRAME_S
) -> tuple[np.ndarray, float]:
    """Spectral flux of `audio` (mono [n]): how much new energy each frame brings.

    Frames of `frame_s` (Hann window) every `hop_s`; per frame the log-compressed magnitude
    spectrum; the flux is the sum over bins of the positive frame-to-frame increase.

    Returns
    -------
    envelope : float64 [n_frames]; frame i is centred on sample ``i * hop``
    rate : frames per second (``sr / hop``)
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    hop = max(1, round(hop_s * sr))
    frame = max(4, round(frame_s * sr))
    # Pad half a frame on each side so frame i is centred on sample i * hop.
    padded = np.concatenate([np.zeros(frame // 2), x, np.zeros(frame)])
    n_frames = max(1, math.ceil(x.shape[0] / hop))
    idx = np.arange(frame)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = padded[idx] * np.hanning(frame)[None, :]  # (n_frames, frame)
    mag = np.log1p(100.0 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.maximum(np.diff(mag, axis=0, prepend=mag[:1]), 0.0).sum(axis=1)
    return flux, sr / hop


def auto_align(a: np.ndarray, b: np.ndarray, sr: int, *, max_shift_s: float = 0.5) -> float:
    """How many seconds `b`'s accents come after `a`'s (negative: before), within ±`max_shift_s`.

    Cross-correlates the two onset envelopes (mean removed, FFT) over lags of at most
    `max_shift_s`, then refines the best lag with a parabola through its neighbours. To line the
    lanes up, start `b`'s lane `offset_s` earlier (or `a`'s later) by the result.
    """
    ea, rate = onset_envelope(a, sr)
    eb, _ = onset_envelope(b, sr)
    ea = ea - ea.mean()
    eb = eb - eb.mean()
    if not ea.any() or not eb.any():
        return 0.0
    size = 1 << (ea.shape[0] + eb.shape[0]).bit_length()
    corr = np.fft.irfft(np.conj(np.fft.rfft(ea, size)) * np.fft.rfft(eb, size), size)
    max_lag = min(int(max_shift_s * rate), size // 2 - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    values = corr[lags % size]  # corr[k] = sum_n ea[n] * eb[n + k]
    best = int(np.argmax(values))
    shift = float(lags[best])
    if 0 < best < values.shape[0] - 1:
        left, mid, right = values[best - 1 : best + 2]
        denom = left - 2 * mid + right
        if denom < 0:
            shift += 0.5 * (left - right) / denom
    return shift / rate


def mono_sum_cancellation(
    left: np.ndarray, right: np.ndarray, *, sample_rate: int | None = None, window_s: float = 1.0
) -> dict[str, Any]:
    """How much a mono fold-down of L/R loses against the channels, and a warning when it cancels.

    The fold-down is ``(L + R) / sqrt(2)``, the inverse of the constant-power pan law: a
    centre-panned source comes back at its own level, two uncorrelated lanes lose nothing (0 dB),
    identical lanes gain 3 dB, and a polarity-inverted copy vanishes. ``loss_db`` is the average
    channel power over the mono power, in dB (capped at 120); the warning is ``loss_db > 3``
    (for equal levels, a correlation below −0.5).

    With `sample_rate`, the same loss is also computed over windows of `window_s` (skipping
    near-silent ones) and the worst is reported, since lanes can cancel for a stretch only.

    Returns a JSON-ready dict: ``correlation`` (−1..1), ``loss_db``, ``channel_power_db``,
    ``mono_power_db``, ``worst_window_loss_db`` (None without `sample_rate`), ``warning`` (bool)
    and ``message`` (None or a sentence for the curator).
    """
    xl = np.asarray(left, dtype=np.float64).reshape(-1)
    xr = np.asarray(right, dtype=np.float64).reshape(-1)
    if xl.shape != xr.shape:
        raise ValueError(f"left and right differ in length: {xl.shape[0]} vs {xr.shape[0]} samples")
    pl, pr = (
        float(np.mean(xl * xl)) if xl.size else 0.0,
        float(np.mean(xr * xr)) if xr.size else 0.0,
    )
    cross = float(np.mean(xl * xr)) if xl.size else 0.0
    correlation = cross / math.sqrt(pl * pr) if pl > SILENT_POWER and pr > SILENT_POWER else 0.0
    channel = 0.5 * (pl + pr)
    mono = 0.5 * (pl + pr) + cross  # mean(((xl + xr) / sqrt 2)^2)
    loss = _loss_db(channel, mono)
    worst = None
    if sample_rate is not None and xl.size:
        win = max(1, round(window_s * sample_rate))
        losses = []
        for start in range(0, xl.shape[0], win):
            wl, wr = xl[start : start + win], xr[start : start + win]
            c = 0.5 * float(np.mean(wl * wl) + np.mean(wr * wr))
            if c > 1e-6:  # −60 dBFS: ignore near-silence
                losses.append(_loss_db(c, c + float(np.mean(wl * wr))))
        worst = max(losses) if losses else 0.0
    flagged = loss > MONO_LOSS_WARN_DB or (worst is not None and worst > MONO_LOSS_WARN_DB)
    message = None
    if flagged:
        where = f"{max(loss, worst or 0.0):.1f} dB" if worst is not None else f"{loss:.1f} dB"
        message = (
            f"The mono sum loses {where} (correlation {correlation:+.2f}): the lanes cancel "
            "in mono. Check polarity or shift one lane."
        )
    return {
        "correlation": correlation,
        "loss_db": loss,
        "channel_power_db": _db(channel),
        "mono_power_db": _db(mono),
        "worst_window_loss_db": worst,
        "warning": flagged,
        "message": message,
    }


def _db(power: float) -> float:
    return 10.0 * math.log10(power) if power > SILENT_POWER else -120.0


def _loss_db(channel_power: float, mono_power: float) -> float:
    if channel_power <= SILENT_POWER:
        return 0.0
    return min(120.0, _db(channel_power) - _db(max(mono_power, 0.0)))
