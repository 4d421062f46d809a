"""Signals with known answers for the quality tests, made in code (16 kHz mono float32)."""

from __future__ import annotations

import numpy as np

from model.synth import through_composed

SR = 16000


def silence(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """Not digital zero: a hiss 80 dB down, as a dead output really sounds."""
    return (1e-4 * np.random.default_rng(seed).standard_normal(round(seconds * SR))).astype(np.float32)


def white_noise(seconds: float = 8.0, seed: int = 0, level: float = 0.2) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(round(seconds * SR))).astype(np.float32)


def pink_noise(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """1/f power: white noise shaped in the frequency domain."""
    n = round(seconds * SR)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def square_burst(seconds: float = 8.0, start: float = 2.0, length: float = 4.0) -> np.ndarray:
    """Music, then a full-scale square wave (what an exploded model emits), then music."""
    x = music(seconds, seed=4)
    t = np.arange(round(length * SR)) / SR
    a = round(start * SR)
    x[a : a + len(t)] = np.sign(np.sin(2 * np.pi * 200 * t))
    return x


def drone(seconds: float = 8.0) -> np.ndarray:
    """One held note with two overtones, nothing else."""
    t = np.arange(round(seconds * SR)) / SR
    x = sum(a * np.sin(2 * np.pi * f * t) for a, f in ((0.4, 110), (0.2, 220), (0.1, 330)))
    return np.asarray(x, dtype=np.float32)


def looped(before: float = 3.0, period: float = 0.5, repeats: int = 10, seed: int = 7) -> np.ndarray:
    """`before` seconds of music, then a fresh `period`-second segment repeated `repeats` times
    (a model stuck in a loop), with a little hiss so no two repeats are identical samples."""
    segment = music(period, seed=seed + 1)
    x = np.concatenate([music(before, seed=seed), np.tile(segment, repeats)])
    return (x + 0.003 * np.random.default_rng(seed).standard_normal(len(x))).astype(np.float32)


def music(seconds: float = 8.0, seed: int = 1) -> np.ndarray:
    """Music-like synth that never repeats (model.synth.through_composed)."""
    return through_composed(seconds, SR, seed)


def with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    power = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    hiss = np.random.default_rng(seed).standard_normal(len(x)) * power * 10 ** (-snr_db / 20)
    return (x + hiss).astype(np.float32)
