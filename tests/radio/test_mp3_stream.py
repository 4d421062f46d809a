"""The radio's MP3 pieces without a worker: the continuous encoder cut into whole frames, read
back by a real decoder (ffmpeg) from any cut, and the ICY metadata framing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator

import numpy as np
import pytest

from app.radio.listener import icy_block, with_icy
from app.radio.mp3 import count_frames, frame_length, samples_per_frame
from worker.mp3_encoder import Mp3Encoder

SR = 16000
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def decode(mp3: bytes) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
         "-f", "s16le", "-ac", "1", "-ar", str(SR), "pipe:1"],
        input=mp3, capture_output=True, check=True,
    ).stdout
    return np.frombuffer(out, dtype="<i2")


def test_the_encoder_gives_whole_frames_that_decode_from_any_cut() -> None:
    t = np.arange(SR * 4) / SR
    pcm = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    pieces = []
    with Mp3Encoder(SR) as enc:
        for a in range(0, pcm.shape[0], SR // 2):  # segments of 0.5 s, like the radio's
            pieces.append(enc.encode(pcm[a : a + SR // 2], wait_s=0.5))
    assert all(frame_length(p[:4]) for p in pieces if p)  # every piece starts on a frame
    whole = b"".join(pieces)
    frames = count_frames(whole)
    assert frames * samples_per_frame(SR) <= pcm.shape[0] + 2 * 1152
    assert frames * samples_per_frame(SR) > pcm.shape[0] - SR  # at most ~1 s still in the encoder
    # A listener joining at the third piece: its bytes decode to exactly its frames' samples.
    late = b"".join(pieces[2:])
    assert decode(late).shape[0] == count_frames(late) * samples_per_frame(SR)


def test_icy_metadata_every_metaint_bytes() -> None:
    async def audio() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"a" * 7

    async def collect() -> bytes:
        return b"".join([c async for c in with_icy(audio(), lambda: "epoch 3", metaint=10)])

    out = asyncio.run(collect())
    block = icy_block("epoch 3")
    assert block[0] * 16 + 1 == len(block) and b"StreamTitle='epoch 3';" in block
    # 35 audio bytes: metadata after 10 (the title), 20 and 30 (unchanged: one zero byte).
    assert out == b"a" * 10 + block + b"a" * 10 + b"\x00" + b"a" * 10 + b"\x00" + b"a" * 5
