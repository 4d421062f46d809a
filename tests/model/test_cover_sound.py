"""A cover drawn from the album's own sound: square, deterministic, coloured by the music."""

from __future__ import annotations

import numpy as np
import pytest

from model.cover_sound import sound_image
from model.covers import self_style_cover
from tests.model import signals as s


def test_the_picture_of_a_sound_is_square_deterministic_and_not_flat() -> None:
    clips = [(s.music(4.0, seed=i), s.SR) for i in range(3)]
    a = sound_image(clips, size=256, seed=1)
    b = sound_image(clips, size=256, seed=1)
    assert a.size == (256, 256) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    pixels = np.asarray(a, dtype=float)
    assert pixels.std() > 20  # a spectrogram, not a blank
    other = sound_image([(s.music(4.0, seed=9), s.SR)], size=256, seed=1)
    assert not np.array_equal(np.asarray(other), pixels.astype(np.uint8))
    cover = self_style_cover(a, size=128, seed=1, backend="mosaic")  # through the cover backends
    assert cover.size == (128, 128)


def test_silence_alone_cannot_make_a_cover() -> None:
    with pytest.raises(ValueError, match="no audio"):
        sound_image([(s.silence(2.0), s.SR)], size=64)
