"""Server-rendered spectrogram PNGs for the clip editor (UX.md row 8): long generation dumps get a
picture instead of being decoded in the browser. numpy STFT + a Pillow palette image; no
matplotlib. The PNG is cached on disk next to the clip's audio (`<audio>.spec-<w>x<h>.png`)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

WIDTH = 1200  # time columns
HEIGHT = 256  # frequency rows (linear, 0 Hz at the bottom .. Nyquist at the top)
N_FFT = 512
FLOOR_DB = -90.0  # dB below the loudest bin shown as black
MAX_SECONDS = 30 * 60  # read at most this much audio
_lock = threading.Lock()


def _magma_like() -> list[int]:
    """A 256-entry black → purple → orange → pale-yellow palette (flattened RGB)."""
    stops = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    rgb = np.array(
        [[0, 0, 4], [80, 18, 123], [182, 54, 121], [251, 136, 97], [252, 253, 191]], float
    )
    t = np.linspace(0, 1, 256)
    cols = np.stack([np.interp(t, stops, rgb[:, c]) for c in range(3)], axis=1)
    return np.round(cols).astype(np.uint8).reshape(-1).tolist()


PALETTE = _magma_like()


def spectrogram_image(
    audio: np.ndarray, sample_rate: int, *, width: int = WIDTH, height: int = HEIGHT
) -> Image.Image:
    """A palette ('P') image, `width` × `height`: one STFT frame (Hann, N_FFT) per column, frames
    spread evenly over the signal, magnitudes in dB relative to the loudest bin."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = np.nan_to_num(x)
    if x.shape[0] < N_FFT:
        x = np.pad(x, (0, N_FFT - x.shape[0]))
    starts = np.linspace(0, x.shape[0] - N_FFT, width).astype(np.int64)
    window = np.hanning(N_FFT).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[starts] * window  # (width, N_FFT)
    mag = np.abs(np.fft.rfft(frames, axis=1))  # (width, N_FFT/2+1)
    db = 20.0 * np.log10(np.maximum(mag, 1e-10))
    db -= db.max()
    level = np.clip((db - FLOOR_DB) / -FLOOR_DB, 0.0, 1.0)  # 0 = floor, 1 = loudest
    # Resample the frequency axis to `height` rows, highest frequency on top.
    bins = np.linspace(0, level.shape[1] - 1, height)
    rows = np.stack([np.interp(bins, np.arange(level.shape[1]), col) for col in level], axis=1)
    pixels = np.round(rows[::-1] * 255).astype(np.uint8)  # (height, width)
    img = Image.fromarray(pixels, mode="P")
    img.putpalette(PALETTE)
    return img


def png_bytes(audio: np.ndarray, sample_rate: int, **kw: int) -> bytes:
    buf = io.BytesIO()
    spectrogram_image(audio, sample_rate, **kw).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def cached_png(audio_file: Path, *, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """The spectrogram PNG of `audio_file`, rendered on first use and kept beside it. A cached
    file older than the audio is rendered again."""
    dest = audio_file.with_name(f"{audio_file.name}.spec-{width}x{height}.png")
    if dest.is_file() and dest.stat().st_mtime_ns >= audio_file.stat().st_mtime_ns:
        return dest
    with _lock:
        if dest.is_file() and dest.stat().st_mtime_ns >= audio_file.stat().st_mtime_ns:
            return dest
        info = sf.info(str(audio_file))
        frames = min(info.frames, int(MAX_SECONDS * info.samplerate))
        audio, rate = sf.read(str(audio_file), frames=frames, dtype="float32", always_2d=True)
        data = png_bytes(audio, int(rate), width=width, height=height)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return dest
