"""Album mastering for export: 44.1 kHz stereo, album-mode loudness, true-peak ceiling, writers.

The chain (UX.md §4; Spotify's album mode keeps relative levels, so the album is mastered as one):

1. each rendered track → float64 stereo [2 x n] at 44.1 kHz (soxr VHQ; mono is duplicated);
2. ONE gain for the whole album so the integrated loudness (BS.1770, pyloudnorm) of all tracks
   concatenated is the target (−14 LUFS);
3. each track through the true-peak limiter (`app.audio.limiter`, ceiling −1 dBTP, guaranteed by
   measurement). Limiting takes a little loudness away, so steps 2–3 repeat with the album gain
   corrected by the measured shortfall until the album is within 0.05 LU (at most 4 rounds);
4. writers: 24-bit FLAC masters, WAV 16 (TPDF dither, seeded, so a re-export is identical) or 24.

Audio is channels-first everywhere, as `app.audio.render` returns it.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from app.audio.limiter import LimiterReport, limit_true_peak
from model.loudness import TrackMeasurement, as_channels, integrated_lufs, measure

EXPORT_SAMPLE_RATE = 44100
TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
LOUDNESS_TOLERANCE_LU = 0.05
MAX_ROUNDS = 4


@dataclass(frozen=True)
class MasteredAlbum:
    tracks: list[np.ndarray]  # float64 [2 x n] each, at `sample_rate`
    sample_rate: int
    gain_db: float  # the one album gain applied before limiting
    album_lufs: float  # measured over all mastered tracks concatenated
    measurements: list[TrackMeasurement]
    limiter: list[LimiterReport]

    def report(self) -> dict[str, Any]:
        """JSON-ready figures for the export manifest."""
        return {
            "sample_rate": self.sample_rate,
            "album_gain_db": round(self.gain_db, 2),
            "album_integrated_lufs": round(self.album_lufs, 2)
            if math.isfinite(self.album_lufs)
            else None,
            "tracks": [
                {**m.to_json(), "limiter_max_reduction_db": round(lim.max_reduction_db, 2)}
                for m, lim in zip(self.measurements, self.limiter, strict=True)
            ],
        }


def to_export_format(audio: np.ndarray, sr: int, *, out_sr: int = EXPORT_SAMPLE_RATE) -> np.ndarray:
    """float64 stereo [2 x n] at `out_sr`: mono duplicated, other rates resampled (soxr VHQ)."""
    x = as_channels(audio)
    if x.shape[0] == 1:
        x = np.repeat(x, 2, axis=0)
    elif x.shape[0] != 2:
        raise ValueError(f"expected mono or stereo audio, got {x.shape[0]} channels")
    if sr != out_sr:
        x = soxr.resample(np.ascontiguousarray(x.T), sr, out_sr, quality="VHQ").T
    return np.ascontiguousarray(x)


def master_album(
    tracks: Sequence[np.ndarray],
    sample_rates: Sequence[int] | int,
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP,
    out_sr: int = EXPORT_SAMPLE_RATE,
) -> MasteredAlbum:
    """Master `tracks` (mono [n] or [C x n], any rate) as one album; see the module docstring.

    Raises ValueError when the album is empty or silent (no gain can reach the target).
    """
    if not tracks:
        raise ValueError("an album needs at least one track")
    rates = [sample_rates] * len(tracks) if isinstance(sample_rates, int) else list(sample_rates)
    if len(rates) != len(tracks):
        raise ValueError(f"{len(tracks)} tracks but {len(rates)} sample rates")
    stereo = [to_export_format(t, r, out_sr=out_sr) for t, r in zip(tracks, rates, strict=True)]
    loudness = integrated_lufs(np.concatenate(stereo, axis=1), out_sr)
    if not math.isfinite(loudness):
        raise ValueError("the album is silent (or shorter than 0.4 s): no gain reaches the target")
    next_gain_db = target_lufs - loudness
    for _ in range(MAX_ROUNDS):
        gain_db = next_gain_db
        scale = 10.0 ** (gain_db / 20.0)
        limited = [limit_true_peak(x * scale, out_sr, ceiling_dbtp=ceiling_dbtp) for x in stereo]
        out = [y for y, _ in limited]
        album_lufs = integrated_lufs(np.concatenate(out, axis=1), out_sr)
        if abs(album_lufs - target_lufs) <= LOUDNESS_TOLERANCE_LU:
            break
        next_gain_db = gain_db + target_lufs - album_lufs
    return MasteredAlbum(
        tracks=out,
        sample_rate=out_sr,
        gain_db=gain_db,
        album_lufs=album_lufs,
        measurements=[measure(y, out_sr) for y in out],
        limiter=[report for _, report in limited],
    )


# -- writers ---------------------------------------------------------------------------------


def quantize(audio: np.ndarray, bits: int, *, dither: bool, seed: int = 0) -> np.ndarray:
    """Integer samples [n x C] (int16 for 16-bit, int32 for 24-bit, value × 2^(bits−1)).

    With `dither`, TPDF noise of ±1 LSB peak (the sum of two independent uniform ±½ LSB) is added
    before rounding; `seed` makes it reproducible. Values are clipped to the integer range.
    """
    if bits not in (16, 24):
        raise ValueError(f"bits must be 16 or 24, got {bits}")
    x = as_channels(audio).T * float(1 << (bits - 1))  # (n, C)
    if dither:
        rng = np.random.default_rng(seed)
        x = x + rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape)
    top = (1 << (bits - 1)) - 1
    q = np.clip(np.rint(x), -top - 1, top)
    return q.astype(np.int16) if bits == 16 else q.astype(np.int32)


def write_flac(path: Path, audio: np.ndarray, sr: int, *, bits: int = 24, seed: int = 0) -> Path:
    """FLAC master (24-bit by default; 16-bit is TPDF-dithered). Temp name, then renamed."""
    return _write(path, audio, sr, bits=bits, seed=seed, fmt="FLAC")


def write_wav(path: Path, audio: np.ndarray, sr: int, *, bits: int = 16, seed: int = 0) -> Path:
    """Untagged distributor WAV, 16-bit (TPDF-dithered) or 24-bit. Temp name, then renamed."""
    return _write(path, audio, sr, bits=bits, seed=seed, fmt="WAV")


def _write(path: Path, audio: np.ndarray, sr: int, *, bits: int, seed: int, fmt: str) -> Path:
    path = Path(path)
    q = quantize(audio, bits, dither=bits == 16, seed=seed)
    if bits == 24:
        q = q << 8  # libsndfile takes 24-bit samples from the top of an int32
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        sf.write(tmp, q, sr, format=fmt, subtype=f"PCM_{bits}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# -- checks before export --------------------------------------------------------------------

MIN_TRACK_S = 30.0
MAX_EDGE_SILENCE_S = 10.0
SILENCE_DBFS = -60.0
CLIP_RUN = 4  # this many equal samples in a row at the track's peak level = a flat top


@dataclass(frozen=True)
class TrackToCheck:
    title: str
    audio: np.ndarray  # mono [n] or [C x n]
    sample_rate: int


def check_tracks(tracks: Sequence[TrackToCheck]) -> list[str]:
    """Readable problems that would get the album refused by a distributor; [] when fine.

    Per track: at least 30 s, at most 10 s of silence (below −60 dBFS) at the start and at the
    end, no clipping (flat-topped runs of equal samples at the peak level), a title.
    """
    if not tracks:
        return ["The album has no tracks."]
    problems: list[str] = []
    for number, track in enumerate(tracks, start=1):
        name = f"Track {number}" + (f" “{track.title.strip()}”" if track.title.strip() else "")
        x = as_channels(track.audio)
        sr = track.sample_rate
        if not track.title.strip():
            problems.append(f"{name} has no title.")
        duration = x.shape[1] / sr
        if duration < MIN_TRACK_S:
            problems.append(
                f"{name} is {duration:.1f} s long; distributors need at least {MIN_TRACK_S:.0f} s."
            )
        level = np.abs(x).max(axis=0) if x.size else np.zeros(0)
        loud = np.flatnonzero(level > 10.0 ** (SILENCE_DBFS / 20.0))
        if loud.size == 0:
            problems.append(f"{name} is silent.")
            continue
        lead, tail = loud[0] / sr, (x.shape[1] - 1 - loud[-1]) / sr
        if lead > MAX_EDGE_SILENCE_S:
            problems.append(
                f"{name} starts with {lead:.1f} s of silence (at most {MAX_EDGE_SILENCE_S:.0f} s)."
            )
        if tail > MAX_EDGE_SILENCE_S:
            problems.append(
                f"{name} ends with {tail:.1f} s of silence (at most {MAX_EDGE_SILENCE_S:.0f} s)."
            )
        runs, first = _flat_tops(x)
        if runs:
            problems.append(
                f"{name} is clipped: {runs} flat-topped run{'s' if runs > 1 else ''} at its peak "
                f"level, the first at {_clock(first / sr)}."
            )
    return problems


def _flat_tops(x: np.ndarray) -> tuple[int, int]:
    """(number of runs of ≥ CLIP_RUN equal samples at a channel's peak |level|, first sample)."""
    runs, first = 0, -1
    for channel in x:
        peak = float(np.abs(channel).max())
        if peak < 0.01:
            continue
        at_peak = np.abs(channel) == peak
        # Run boundaries of at_peak; a run also needs equal signs (not +peak, −peak, +peak…).
        edges = np.flatnonzero(np.diff(np.concatenate([[0], at_peak.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start >= CLIP_RUN and np.all(channel[start:stop] == channel[start]):
                runs += 1
                first = start if first < 0 else min(first, start)
    return runs, first


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
