"""app/spectrogram.py: the server-rendered spectrogram PNG (numpy STFT + Pillow palette)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from app.spectrogram import HEIGHT, WIDTH, cached_png, png_bytes, spectrogram_image

SR = 16_000


def tone(freq: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_size_and_a_tone_lands_on_its_row() -> None:
    img = spectrogram_image(tone(2000.0), SR, width=300, height=128)
    assert img.size == (300, 128) and img.mode == "P"
    rows = np.asarray(img).astype(float).mean(axis=1)  # brightness index per row, top = Nyquist
    brightest = int(np.argmax(rows))
    expected = round((1 - 2000.0 / (SR / 2)) * 127)  # 2 kHz is a quarter of the way up
    assert abs(brightest - expected) <= 2
    assert rows[brightest] > 200 and np.median(rows) < 60


def test_silence_short_and_stereo_input_do_not_fail() -> None:
    assert Image.open(io.BytesIO(png_bytes(np.zeros(100, np.float32), SR))).size == (WIDTH, HEIGHT)
    stereo = np.stack([tone(440.0), np.zeros(2 * SR, np.float32)], axis=1)
    assert spectrogram_image(stereo, SR, width=64, height=32).size == (64, 32)


def test_cached_next_to_the_audio_and_rerendered_when_the_audio_is_newer(tmp_path: Path) -> None:
    wav = tmp_path / "clip.wav"
    sf.write(wav, tone(1000.0), SR)
    png = cached_png(wav, width=200, height=64)
    assert png.parent == wav.parent and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mtime = png.stat().st_mtime_ns
    assert cached_png(wav, width=200, height=64).stat().st_mtime_ns == mtime  # cached
    os.utime(wav, ns=(mtime + 10**9, mtime + 10**9))
    assert cached_png(wav, width=200, height=64).stat().st_mtime_ns > mtime  # audio changed
    assert not list(tmp_path.glob(".*.tmp"))
