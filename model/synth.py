"""Deterministic synthetic music, made in code, for tests and the demo.

No media is committed to the repository; tests and `albumbot up --demo` build their audio here.
Everything is numpy (no torch) and seeded, so the same arguments give the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

_TITLES = (
    "Glass Harbor",
    "Low Orbit",
    "Paper Engines",
    "Northern Static",
    "Slow Lanterns",
    "Copper Rain",
    "Night Ferry",
    "Quiet Machines",
)


def _note(
    freq: float, n: int, sr: int, attack: float = 0.01, release: float = 0.03
) -> npt.NDArray[np.float64]:
    """A sine with its octave and an attack/release envelope, so notes join without clicks."""
    t = np.arange(n) / sr
    tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(2 * np.pi * 2 * freq * t)
    env = np.ones(n)
    a, r = min(n, max(1, round(attack * sr))), min(n, max(1, round(release * sr)))
    env[:a] = np.linspace(0.0, 1.0, a)
    env[n - r :] = np.minimum(env[n - r :], np.linspace(1.0, 0.0, r))
    return tone * env


def two_note_pattern(
    seconds: float, sr: int, f0: float = 220.0, noise: float = 0.01, seed: int = 0
) -> npt.NDArray[np.float32]:
    """A repeated two-note pattern with a little noise.

    Each half-second bar plays `f0` for 0.3 s, then a fifth above (1.5 * `f0`) for 0.2 s, quieter.
    `f0` sounds longer and louder, so it is the dominant spectral peak (training tests rely on it).

    Returns
    -------
    np.ndarray[float32, round(seconds * sr)]
        peak about 0.6.
    """
    n = round(seconds * sr)
    bar = np.concatenate(
        [0.5 * _note(f0, round(0.3 * sr), sr), 0.3 * _note(1.5 * f0, round(0.2 * sr), sr)]
    )
    reps = -(-n // len(bar)) if n else 0
    x = np.tile(bar, reps)[:n]
    rng = np.random.default_rng(seed)
    return (x + noise * rng.standard_normal(n)).astype(np.float32)


def _decay(n: int, sr: int, seconds: float) -> npt.NDArray[np.float64]:
    return np.exp(-np.arange(n) / (seconds * sr))


def _drums(n: int, sr: int, beat: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Kick on beats 1 and 3, snare on 2 and 4, hats on every eighth note."""
    out = np.zeros(n)
    kick_n, snare_n, hat_n = round(0.25 * sr), round(0.2 * sr), round(0.05 * sr)
    t = np.arange(kick_n) / sr
    # The kick's pitch falls from 150 Hz to 50 Hz: integrate the frequency sweep for the phase.
    freq = 50 + 100 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * _decay(kick_n, sr, 0.08)
    snare = (0.6 * rng.standard_normal(snare_n) + 0.4 * np.sin(2 * np.pi * 180 * t[:snare_n]))
    snare *= _decay(snare_n, sr, 0.05)
    # Differenced noise is a crude high-pass: hats are mostly hiss.
    hat = np.diff(rng.standard_normal(hat_n + 1)) * _decay(hat_n, sr, 0.012)
    for i, start in enumerate(range(0, n, beat // 2)):
        sounds = [(0.3, hat)]
        if i % 4 == 0:
            sounds.append((0.9, kick))
        elif i % 4 == 2:
            sounds.append((0.5, snare))
        for gain, sound in sounds:
            m = min(len(sound), n - start)
            out[start : start + m] += gain * sound[:m]
    return out


def _harmony(
    n: int, sr: int, beat: int, root_hz: float, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """A four-chord progression, one chord per bar, with the bass on the root every beat."""
    out = np.zeros(n)
    progression = rng.choice([0, 3, 5, 7, 8, 10], size=4, replace=True)  # semitones above the root
    progression[0] = 0
    bar = 4 * beat
    for b, start in enumerate(range(0, n, bar)):
        m = min(bar, n - start)
        root = root_hz * 2 ** (progression[b % 4] / 12)
        for interval in (0, 4, 7):  # a major triad, an octave above the bass
            freq = 2 * root * 2 ** (interval / 12)
            out[start : start + m] += 0.12 * _note(freq, m, sr, 0.08, 0.1)
        for s in range(start, start + m, beat):
            k = min(beat, n - s)
            out[s : s + k] += 0.3 * _note(root, k, sr, 0.005, 0.05)
    return out


def demo_track(seconds: float, sr: int, seed: int) -> npt.NDArray[np.float32]:
    """One stereo track: drums, bass and chords, then a fade and about 1.5 s of silence.

    The trailing silence is there on purpose, so dataset preparation has gaps to remove.

    Returns
    -------
    np.ndarray[float32, round(seconds * sr) x 2]
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    tail = min(n, round(1.5 * sr))
    body = n - tail
    bpm = float(rng.integers(84, 128))
    beat = round(60.0 / bpm * sr)
    root_hz = 55.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    drums = _drums(body, sr, beat, rng)
    harmony = _harmony(body, sr, beat, root_hz, rng)
    fade = min(body, round(1.0 * sr))
    mix = np.zeros((n, 2))
    # Drums a little left, harmony a little right: enough width that the mono downmix matters.
    mix[:body, 0] = 0.6 * drums + 0.4 * harmony
    mix[:body, 1] = 0.4 * drums + 0.6 * harmony
    if fade:
        mix[body - fade : body] *= np.linspace(1.0, 0.0, fade)[:, None]
    peak = np.abs(mix).max()
    if peak > 0:
        mix *= 0.89 / peak  # about -1 dBFS
    return mix.astype(np.float32)


def demo_album(
    seconds_per_track: float = 60.0, sr: int = 22050, n_tracks: int = 3, seed: int = 0
) -> list[tuple[str, npt.NDArray[np.float32]]]:
    """A small album of synthetic tracks.

    Returns
    -------
    list of (name, audio)
        name like "01 Glass Harbor"; audio np.ndarray[float32, round(seconds_per_track * sr) x 2].
    """
    if n_tracks < 1:
        raise ValueError(f"n_tracks must be >= 1, got {n_tracks}")
    rng = np.random.default_rng(seed)
    titles = [_TITLES[i] for i in rng.permutation(len(_TITLES))]
    return [
        (
            f"{i + 1:02d} {titles[i % len(titles)]}",
            demo_track(seconds_per_track, sr, seed * 1000 + i),
        )
        for i in range(n_tracks)
    ]


def write_album(
    out_dir: str | Path,
    tracks: Sequence[tuple[str, npt.NDArray[np.float32]]] | None = None,
    *,
    sr: int = 22050,
    seconds_per_track: float = 60.0,
    n_tracks: int = 3,
    seed: int = 0,
) -> list[Path]:
    """Write `tracks` (default: `demo_album(...)`) as 16-bit WAV files named "<name>.wav".

    Returns the written paths in track order.
    """
    import soundfile as sf  # only writing needs libsndfile

    if tracks is None:
        tracks = demo_album(seconds_per_track, sr, n_tracks, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, audio in tracks:
        path = out / f"{name}.wav"
        sf.write(str(path), np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
        paths.append(path)
    return paths


def through_composed(seconds: float, sr: int, seed: int) -> npt.NDArray[np.float32]:
    """Mono music that never repeats itself: a random melody (notes of 0.12-0.45 s over two
    octaves), a new random chord every 2 s and a noise hit on every half-second beat, each hit
    fresh noise. Unlike `demo_track` (whose four bars repeat sample for sample) no stretch of it
    matches another, so a test can say exactly where an excerpt of it came from.

    Returns
    -------
    np.ndarray[float32, round(seconds * sr)]
        peak 0.8.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    out = np.zeros(n)
    t = 0
    while t < n:
        d = min(round(rng.uniform(0.12, 0.45) * sr), n - t)
        freq = 220.0 * 2 ** (int(rng.integers(-12, 13)) / 12)
        out[t : t + d] += 0.3 * rng.uniform(0.5, 1.0) * _note(freq, d, sr, 0.01, 0.05)
        t += d
    bar = round(2.0 * sr)
    for start in range(0, n, bar):
        m = min(bar, n - start)
        root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)
        for interval in (0, 4, 7):
            out[start : start + m] += 0.08 * _note(root * 2 ** (interval / 12), m, sr, 0.05, 0.1)
    beat, hit = round(0.5 * sr), round(0.1 * sr)
    for start in range(0, n, beat):
        k = min(hit, n - start)
        out[start : start + k] += 0.3 * rng.standard_normal(k) * _decay(k, sr, 0.02)
    peak = np.abs(out).max() if n else 0.0
    return (0.8 * out / peak if peak > 0 else out).astype(np.float32)
