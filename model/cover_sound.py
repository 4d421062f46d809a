"""A picture of an album's own sound, for a cover when the curator uploaded no artwork.

`sound_image` draws the clips of an album as a stack of log-mel spectrograms (time left to
right, silences left out, low notes at the bottom of each band), coloured with a palette whose
hue comes from the music's strongest pitch class and whose brightness is the loudness. The
covers' self-style method (model/covers.py) then stylises it through the same backends as an
uploaded cover, so a no-curation album always has its cover.jpg and an embedded front cover.

numpy and Pillow only; deterministic for the same audio and seed.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from model.frame_features import frame_features

MAX_CLIPS = 8
RANGE_DB = 60.0  # dB below each clip's loudest band that still shows


def sound_image(
    clips: Sequence[tuple[npt.NDArray[np.float32], int]], *, size: int = 1024, seed: int = 0
) -> Image.Image:
    """A `size` px square RGB picture of the sound of `clips` ((audio, sample rate) each; the
    first MAX_CLIPS are drawn, one horizontal band each). ValueError without any audio."""
    if size < 32:
        raise ValueError(f"size must be at least 32 px, got {size}")
    bands, chroma = [], np.zeros(12)
    for audio, sr in list(clips)[:MAX_CLIPS]:
        frames = frame_features(audio, sr)
        audible = frames.rms_db > -50.0  # silence draws nothing
        if audible.sum() < 2:
            continue
        mel = frames.mel_db[audible].T[::-1]  # (bands, T): low frequencies at the bottom
        top = float(mel.max())
        bands.append(np.clip((mel - (top - RANGE_DB)) / RANGE_DB, 0.0, 1.0))
        chroma += frames.chroma[audible].sum(axis=0)
    if not bands:
        raise ValueError("no audio to draw a cover from")
    rng = np.random.default_rng(seed)
    hue = (float(np.argmax(chroma)) / 12.0 + 0.08 * rng.standard_normal()) % 1.0
    height = -(-size // len(bands))
    rows = [_band(b, size, height) for b in bands]
    level = np.concatenate(rows, axis=0)[:size]  # (size, size) in 0..1
    rgb = _palette(hue)[np.round(level * 255).astype(np.int64)]  # (size, size, 3)
    image = Image.fromarray(rgb, "RGB")
    return image.filter(ImageFilter.GaussianBlur(radius=max(1, size // 512)))


def _band(level: npt.NDArray[np.float64], width: int, height: int) -> npt.NDArray[np.float64]:
    """One spectrogram (bands x frames, 0..1) resampled to height x width."""
    image = Image.fromarray((level * 255).astype(np.uint8), "L")
    resized = image.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float64) / 255.0


def _palette(hue: float) -> npt.NDArray[np.uint8]:
    """(256, 3) colours from near black through the hue to a pale complement."""
    out = np.zeros((256, 3), np.uint8)
    for i in range(256):
        t = i / 255
        h = (hue + 0.5 * t**2) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.85 - 0.45 * t, 0.06 + 0.94 * t**0.8)
        out[i] = (round(255 * r), round(255 * g), round(255 * b))
    return out
