"""What is wrong with a clip: the failure modes of a SampleRNN run, found from frame features.

Each detector measures one thing and maps it to a score in [0, 1]; the flag is raised when the
score reaches 0.5, with a one-line reason a curator can read. The measures (frames are 50 ms,
`model.frame_features`; "active" frames are louder than the silence floor, -50 dBFS):

- `silent`   share of frames below the floor; raised from 80 %.
- `noise`    share of active frames whose energy is not in spectral peaks (no pitch: white,
             pink or brown noise alike), and how little the mel spectrum changes from frame to
             frame; raised when ~80 % of it has no pitch and it changes by under ~4 dB per frame.
- `exploded` saturated frames (a fifth of the samples at full scale, or RMS above -3 dBFS):
             raised when 15 % of the clip, or 2 s in one run, is saturated.
- `drone`    the longest stretch of active, pitched frames whose mel spectrum stays within a few
             dB of itself a second earlier and from frame to frame; raised from 4 s (or half of
             a clip shorter than 8 s).
- `loop`     a segment of 0.15-4 s that repeats: the smallest lag at which the clip's features
             match themselves (cosine >= 0.9) for at least 2 s and 3 periods, while they do not
             match at the lags in between (a drone matches itself at every lag); the period is
             refined on the waveform. Raised when the repeats cover 4 s or more.
- `dc`       |mean sample| (today's level measures); raised from 0.02.
- `clipped`  fraction of samples at full scale (today's level measures); raised from 0.1 %.

`copied` is raised by closeness to the album (model/closeness.py), not here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from model.frame_features import ANALYSIS_SR, HOP, FrameFeatures, seconds_of

SILENCE_DBFS = -50.0
RAISE_AT = 0.5
HARD_FLAGS = frozenset({"silent", "noise", "exploded", "copied"})  # a clip not worth a listen
FLAG_NAMES = ("silent", "noise", "exploded", "drone", "loop", "dc", "clipped", "copied")

LOOP_MIN_S, LOOP_MAX_S = 0.15, 4.0
LOOP_MATCH = 0.9  # cosine of z-scored frame features one period apart
LOOP_MIN_RUN_S = 2.0
DRONE_CHANGE_DB = 3.0
NOISY = 0.75  # frames with this much of their energy outside spectral peaks sound like noise


@dataclass(frozen=True)
class Flag:
    """One detector's verdict. `raised` iff `score >= 0.5`; `details` carry numbers for the
    curious (seconds, shares, the loop's period and start)."""

    name: str
    score: float  # 0..1
    reason: str
    details: dict[str, float] = field(default_factory=dict)

    @property
    def raised(self) -> bool:
        return self.score >= RAISE_AT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ramp(value: float, lo: float, hi: float) -> float:
    """0 at `lo`, 1 at `hi`, linear between (lo > hi for a measure where less is worse)."""
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def detect(
    frames: FrameFeatures,
    audio: npt.NDArray[np.float32],
    *,
    dc_offset: float,
    clipping: float,
) -> list[Flag]:
    """Every detector's flag, in FLAG_NAMES order (less `copied`).

    `audio` is the clip at ANALYSIS_SR (model.frame_features.analysis_audio); `dc_offset` and
    `clipping` are today's level measures (model.features.ClipFeatures).
    """
    active = frames.rms_db > SILENCE_DBFS
    mel = clamped_mel(frames)
    return [
        silent(frames, active),
        noise(frames, active, mel),
        exploded(frames),
        drone(frames, active, mel),
        loop(frames, active, mel, audio),
        dc(dc_offset),
        clipped(clipping),
    ]


def clamped_mel(frames: FrameFeatures) -> npt.NDArray[np.float32]:
    """mel_db with nothing below 60 dB under the clip's loudest band: the quantisation floor of
    near-empty bands must not read as change."""
    if frames.frames == 0:
        return frames.mel_db
    mel: npt.NDArray[np.float32] = np.maximum(frames.mel_db, frames.mel_db.max() - 60.0)
    return mel


def silent(frames: FrameFeatures, active: npt.NDArray[np.bool_]) -> Flag:
    share = 1.0 - float(active.mean()) if frames.frames else 1.0
    return Flag(
        "silent", ramp(share, 0.6, 1.0),
        f"{share:.0%} of the clip is below {SILENCE_DBFS:g} dBFS", {"share": round(share, 4)},
    )


def noise(
    frames: FrameFeatures, active: npt.NDArray[np.bool_], mel: npt.NDArray[np.float32]
) -> Flag:
    if active.sum() < max(4, 0.2 * frames.frames):
        return Flag("noise", 0.0, "too little sound to tell")
    flat = float(np.mean(frames.noisiness[active] >= NOISY))
    change = np.abs(np.diff(mel, axis=0)).mean(axis=1)
    novelty = float(np.median(change[active[1:]])) if active[1:].any() else 0.0
    score = min(ramp(flat, 0.6, 1.0), ramp(novelty, 6.0, 2.0))
    return Flag(
        "noise", score,
        f"noise-like: {flat:.0%} of it has no pitch, its spectrum changes "
        f"{novelty:.1f} dB from frame to frame",
        {"flat_share": round(flat, 4), "novelty_db": round(novelty, 2)},
    )


def exploded(frames: FrameFeatures) -> Flag:
    saturated = (frames.rail >= 0.2) | (frames.rms_db >= -3.0)
    share = float(saturated.mean()) if frames.frames else 0.0
    start, length = longest_run(saturated)
    run_s = seconds_of(length)
    score = max(ramp(share, 0.0, 0.3), ramp(run_s, 0.0, 4.0))
    reason = (
        f"saturated at full scale for {seconds_of(saturated.sum()):.1f} s ({share:.0%}), "
        f"longest from {seconds_of(start):.1f} s for {run_s:.1f} s"
        if length else "never saturated"
    )
    return Flag("exploded", score, reason, {"share": round(share, 4), "longest_s": run_s})


def drone(
    frames: FrameFeatures, active: npt.NDArray[np.bool_], mel: npt.NDArray[np.float32]
) -> Flag:
    lag = round(ANALYSIS_SR / HOP)  # frames in a second
    t = frames.frames
    if t <= lag:
        return Flag("drone", 0.0, "too short to tell")
    steady = np.zeros(t, bool)
    slow = np.abs(mel[lag:] - mel[:-lag]).mean(axis=1) < DRONE_CHANGE_DB
    fast = np.abs(np.diff(mel, axis=0)).mean(axis=1) < DRONE_CHANGE_DB
    steady[lag:] = slow & fast[lag - 1 :]
    steady &= active & (frames.noisiness < 0.5)  # pitched sound (noise has its own flag)
    # A steady frame vouches for the second before it too.
    start, length = longest_run(steady)
    if length:
        start, length = max(0, start - lag), length + min(start, lag)
    run_s = seconds_of(length)
    needed = min(4.0, 0.5 * frames.duration_s)
    score = ramp(run_s / needed, 0.5, 1.5) if needed > 0 else 0.0
    reason = (
        f"holds one sound with almost no change for {run_s:.1f} s (from {seconds_of(start):.1f} s)"
        if length else "its sound keeps changing"
    )
    return Flag("drone", score, reason, {"longest_s": run_s, "start_s": seconds_of(start)})


def loop(
    frames: FrameFeatures,
    active: npt.NDArray[np.bool_],
    mel: npt.NDArray[np.float32],
    audio: npt.NDArray[np.float32],
) -> Flag:
    found = find_loop(frames, active, mel)
    if found is None:
        return Flag("loop", 0.0, "repeats no short segment")
    lag, start, stop, match, contrast = found
    period = refine_period(audio, lag, start, stop)
    start_s, stop_s = refine_bounds(audio, period, seconds_of(start), seconds_of(stop))
    covered = stop_s - start_s
    score = min(ramp(covered, LOOP_MIN_RUN_S, 3 * LOOP_MIN_RUN_S), ramp(contrast, 0.0, 0.4))
    end = "the end" if stop_s >= frames.duration_s - 0.15 else f"{stop_s:.1f} s"
    return Flag(
        "loop", score,
        f"repeats a {period:.2f} s segment from {start_s:.1f} s to {end}",
        {"period_s": round(period, 4), "start_s": round(start_s, 3), "end_s": round(stop_s, 3),
         "match": round(match, 3), "contrast": round(contrast, 3)},
    )


def find_loop(
    frames: FrameFeatures, active: npt.NDArray[np.bool_], mel: npt.NDArray[np.float32]
) -> tuple[int, int, int, float, float] | None:
    """(lag, first frame, frame after the last, mean match, contrast) of the shortest repeating
    segment, or None. Frame features are z-scored within the clip and compared at every lag;
    the segment must change inside itself (its mel spectrum, by DRONE_CHANGE_DB on average
    across the lags shorter than the period), or it is one held sound."""
    v = frames.vectors()[:, 1:].astype(np.float64)  # c0 (level) left out: loops may fade
    t = len(v)
    lo, hi = max(2, round(LOOP_MIN_S * ANALYSIS_SR / HOP)), round(LOOP_MAX_S * ANALYSIS_SR / HOP)
    hi = min(hi + 1, t // 3)
    if hi < lo:
        return None
    v = (v - v.mean(axis=0)) / (v.std(axis=0) + 1e-6)
    v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-9
    v[~active] = 0.0
    sims = [np.einsum("ij,ij->i", v[:-k], v[k:]) for k in range(1, hi + 1)]  # sims[k-1]: (t-k,)
    min_run = round(LOOP_MIN_RUN_S * ANALYSIS_SR / HOP)
    for lag in range(lo, hi):
        # A period between two frame lags shows in one or the other, frame by frame.
        r = np.maximum(sims[lag - 1][: t - lag - 1], sims[lag][: t - lag - 1])
        start, length = longest_run(_median5(r) >= LOOP_MATCH)
        if length < max(min_run, 2 * lag):
            continue
        inside = slice(start, start + length)
        between = [sims[k - 1][inside].mean() for k in range(1, lag)]
        contrast = float(r[inside].mean() - (np.mean(between) if between else 1.0))
        if contrast <= 0.05:
            continue  # the same at every lag: a steady sound, not a repeated segment
        window = mel[start : start + length + lag]
        change = np.mean([np.abs(window[k:] - window[:-k]).mean() for k in range(1, lag)])
        if change < DRONE_CHANGE_DB:
            continue
        return lag, start, min(t, start + length + lag + 1), float(r[inside].mean()), contrast
    return None


def _median5(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Running median over 5 frames (edges padded): one odd frame does not end a run."""
    if len(x) < 5:
        return x
    padded = np.pad(x, 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)


def refine_period(audio: npt.NDArray[np.float32], lag: int, start: int, stop: int) -> float:
    """The loop's period in seconds, from the waveform inside frames [start, stop) (at most
    20 s of it): the lag near `lag`..`lag + 1` frames with the highest normalised correlation,
    or a whole fraction of it (down to an eighth) when the waveform repeats as closely at that
    (the shortest segment that repeats); the frame lag when the waveform does not repeat closely
    (correlation under 0.5, e.g. a loop whose repeats drift in phase)."""
    coarse = lag * HOP / ANALYSIS_SR
    a = audio[start * HOP : min(stop * HOP, start * HOP + 20 * ANALYSIS_SR)].astype(np.float64)
    if len(a) <= (lag + 2) * HOP + ANALYSIS_SR // 10:
        return coarse
    lags = np.arange(max(1, (lag - 1) * HOP), (lag + 2) * HOP + 1)
    r = _waveform_correlation(a, lags)
    best = int(np.argmax(r))
    if r[best] < 0.5:
        return coarse
    period, corr = int(lags[best]), float(r[best])
    for k in range(8, 1, -1):
        if period / k < LOOP_MIN_S * ANALYSIS_SR:
            continue
        near = np.arange(period // k - 2, period // k + 3)
        rk = _waveform_correlation(a, near)
        if rk.max() >= 0.95 * corr:
            return float(near[int(np.argmax(rk))]) / ANALYSIS_SR
    return period / ANALYSIS_SR


def refine_bounds(
    audio: npt.NDArray[np.float32], period_s: float, start_s: float, stop_s: float
) -> tuple[float, float]:
    """Where the repeats really start and stop: from the frame estimate, step by 10 ms while
    each stretch of the waveform (a period, at most 0.25 s) still matches the one a period
    later (correlation >= 0.97), back from the start and on from the end. Unchanged when the
    waveform does not repeat closely there."""
    p = round(period_s * ANALYSIS_SR)
    w = min(p, ANALYSIS_SR // 4)
    step = ANALYSIS_SR // 100
    x = audio.astype(np.float64)

    def repeats(u: int) -> bool:
        if u < 0 or u + p + w > len(x):
            return False
        a, b = x[u : u + w], x[u + p : u + p + w]
        return float(a @ b) >= 0.97 * float(np.sqrt((a @ a) * (b @ b))) + 1e-12

    first = round(start_s * ANALYSIS_SR)
    if repeats(first):
        while repeats(first - step) and first - step >= 0:
            first -= step
    last = round(stop_s * ANALYSIS_SR) - p - w  # the last stretch that has a repeat after it
    if repeats(last):
        while repeats(last + step):
            last += step
        stop_s = (last + p + w) / ANALYSIS_SR
    return first / ANALYSIS_SR, stop_s


def _waveform_correlation(
    a: npt.NDArray[np.float64], lags: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Normalised correlation of `a` with itself `lag` samples later, for each of `lags`."""
    size = 1 << int(np.ceil(np.log2(2 * len(a))))
    spec = np.fft.rfft(a, size)
    corr = np.fft.irfft(spec * np.conj(spec), size)
    energy = np.concatenate([[0.0], np.cumsum(a * a)])
    n = len(a)
    head = energy[n - lags]  # sum of a[: n - lag] ** 2
    tail = energy[n] - energy[lags]  # sum of a[lag:] ** 2
    out: npt.NDArray[np.float64] = corr[lags] / np.sqrt(head * tail + 1e-12)
    return out


def dc(offset: float) -> Flag:
    return Flag(
        "dc", ramp(abs(offset), 0.01, 0.03),
        f"DC offset of {offset:+.3f}: the waveform sits off centre", {"offset": round(offset, 5)},
    )


def clipped(fraction: float) -> Flag:
    score = ramp(float(np.log10(max(fraction, 1e-9))), -4.0, -2.0)
    return Flag(
        "clipped", score, f"{fraction:.2%} of the samples hit full scale",
        {"fraction": round(fraction, 6)},
    )


def longest_run(mask: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """(start, length) of the longest run of True in `mask`; (0, 0) when there is none."""
    if not mask.any():
        return 0, 0
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    return int(starts[i]), int(stops[i] - starts[i])
