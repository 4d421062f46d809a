"""Silence removal for training data.

A model trained on an album with long gaps learns to generate long gaps (the paper removes
silences for that reason). A stretch is silent when the RMS level of every 20 ms frame in it stays
below `threshold_dbfs` for at least `min_seconds`; such a stretch is cut out, minus a short margin
at each side so the decay before it and the attack after it are not chopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_THRESHOLD_DBFS = -50.0
DEFAULT_MIN_SECONDS = 0.5
DEFAULT_MARGIN_SECONDS = 0.05
DEFAULT_FRAME_SECONDS = 0.02
_FLOOR = 1e-10  # RMS floor so digital silence is -200 dBFS instead of -inf


@dataclass(frozen=True)
class SilenceReport:
    """What `remove_silence` did.

    `kept` lists the [start, end) sample ranges of the input that survive, in order; use
    `map_position` to translate input positions into the output.
    """

    threshold_dbfs: float
    min_seconds: float
    seconds_before: float
    seconds_after: float
    n_cuts: int
    kept: tuple[tuple[int, int], ...]

    @property
    def seconds_removed(self) -> float:
        return self.seconds_before - self.seconds_after


def frame_dbfs(
    x: npt.NDArray[np.floating[Any]], sr: int, frame_seconds: float = DEFAULT_FRAME_SECONDS
) -> npt.NDArray[np.float64]:
    """RMS level of consecutive non-overlapping frames, in dB relative to full scale.

    Parameters
    ----------
    x : np.ndarray[samples]
        mono audio in [-1, 1].

    Returns
    -------
    np.ndarray[float64, ceil(samples / frame)]
        the last frame may be partial; its RMS is over the samples it has.
    """
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got {x.shape}")
    frame = max(1, round(frame_seconds * sr))
    n_frames = -(-len(x) // frame)
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[: len(x)] = x
    sums = (padded.reshape(n_frames, frame) ** 2).sum(axis=1)  # (n_frames,)
    counts = np.full(n_frames, frame, dtype=np.float64)
    if n_frames:
        counts[-1] = len(x) - (n_frames - 1) * frame
    rms = np.sqrt(sums / counts)
    dbfs: npt.NDArray[np.float64] = 20.0 * np.log10(np.maximum(rms, _FLOOR))
    return dbfs


def find_silences(
    x: npt.NDArray[np.floating[Any]],
    sr: int,
    *,
    threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    frame_seconds: float = DEFAULT_FRAME_SECONDS,
) -> list[tuple[int, int]]:
    """[start, end) sample ranges that stay below `threshold_dbfs` for at least `min_seconds`."""
    frame = max(1, round(frame_seconds * sr))
    silent = frame_dbfs(x, sr, frame_seconds) < threshold_dbfs  # (n_frames,)
    # Runs of silent frames: +1 where a run starts, -1 just after it ends.
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    min_samples = min_seconds * sr
    runs = []
    for f0, f1 in zip(starts, ends, strict=True):
        start, end = int(f0) * frame, min(int(f1) * frame, len(x))
        if end - start >= min_samples:
            runs.append((start, end))
    return runs


def remove_silence(
    x: npt.NDArray[np.floating[Any]],
    sr: int,
    *,
    threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    margin_seconds: float = DEFAULT_MARGIN_SECONDS,
    frame_seconds: float = DEFAULT_FRAME_SECONDS,
) -> tuple[npt.NDArray[np.float32], SilenceReport]:
    """Cut long silences out of mono audio.

    Parameters
    ----------
    x : np.ndarray[samples]
        mono audio, DC already removed (an offset reads as sound).
    sr : int
        sample rate in Hz.
    threshold_dbfs, min_seconds
        a stretch quieter than `threshold_dbfs` for at least `min_seconds` is silence.
    margin_seconds
        silence kept at each side of a cut.

    Returns
    -------
    kept : np.ndarray[float32, samples - removed]
    report : SilenceReport
    """
    if min_seconds <= 0:
        raise ValueError(f"min_seconds must be > 0, got {min_seconds}")
    if margin_seconds < 0:
        raise ValueError(f"margin_seconds must be >= 0, got {margin_seconds}")
    margin = round(margin_seconds * sr)
    cuts = []
    for start, end in find_silences(
        x, sr, threshold_dbfs=threshold_dbfs, min_seconds=min_seconds, frame_seconds=frame_seconds
    ):
        # The album's very edges need no margin: nothing there to protect.
        a = start + margin if start > 0 else start
        b = end - margin if end < len(x) else end
        if b > a:
            cuts.append((a, b))
    kept = []
    position = 0
    for a, b in cuts:
        if a > position:
            kept.append((position, a))
        position = b
    if position < len(x):
        kept.append((position, len(x)))
    out = (
        np.concatenate([x[a:b] for a, b in kept]).astype(np.float32, copy=False)
        if kept
        else np.zeros(0, np.float32)
    )
    report = SilenceReport(
        threshold_dbfs=float(threshold_dbfs),
        min_seconds=float(min_seconds),
        seconds_before=len(x) / sr,
        seconds_after=len(out) / sr,
        n_cuts=len(cuts),
        kept=tuple(kept),
    )
    return out, report


def map_position(kept: tuple[tuple[int, int], ...], position: int) -> int:
    """Where input sample `position` lands in the output of `remove_silence`.

    A position inside a removed stretch maps to the first kept sample after it.
    """
    return sum(min(max(position, a), b) - a for a, b in kept)
