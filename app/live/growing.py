"""Reading a clip's WAV file while its worker is still writing it.

model.generate.write_clips opens `.{name}.part` with libsndfile, which writes a 44-byte PCM_16
header at once (with a zero length, fixed on close) and then each block's samples straight
through to the file; the finished file is renamed to its final name. An open descriptor follows
that rename, so a reader opens whichever name exists now and keeps reading the same bytes.

Listeners get the clip as a WAV of its final length (`wav_header`): the canonical header
libsndfile itself writes on close, then the samples as they appear. A growing, known-length
WAV over plain HTTP is what every browser's <audio> plays progressively (no MSE, no worklet, no
encoder on the web host), and it is lossless, so the stream is byte for byte the finished file.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from app.live.progress import part_path

HEADER_BYTES = 44
BYTES_PER_SAMPLE = 2  # PCM_16 mono, what write_clips writes for .wav
POLL_S = 0.05
CHECK_EVERY_S = 0.5  # how often a waiting stream asks whether the clip is still generating


def wav_header(sample_rate: int, samples: int) -> bytes:
    """The 44-byte header of a mono 16-bit PCM WAV of `samples` samples."""
    data = samples * BYTES_PER_SAMPLE
    return (
        b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data" + struct.pack("<I", data)
    )


def open_growing(final: Path) -> BinaryIO | None:
    """The clip's file, under its temporary name while it grows or its final one after; None
    when neither exists (not opened yet, or the generation failed and removed it)."""
    for path in (part_path(final), final):
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller owns it
        except FileNotFoundError:
            continue
    return None


def data_offset(f: BinaryIO) -> int | None:
    """Where the samples begin (after the "data" chunk's header); None before it is written."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while True:
        f.seek(pos)
        chunk = f.read(8)
        if len(chunk) < 8:
            return None
        size = struct.unpack("<I", chunk[4:])[0]
        if chunk[:4] == b"data":
            return pos + 8
        pos += 8 + size + (size & 1)


def pcm_so_far(final: Path, total_samples: int) -> npt.NDArray[np.int16]:
    """The samples written so far (whole samples only, at most `total_samples`)."""
    f = open_growing(final)
    if f is None:
        return np.zeros(0, dtype=np.int16)
    with f:
        start = data_offset(f)
        if start is None:
            return np.zeros(0, dtype=np.int16)
        f.seek(start)
        data = f.read(total_samples * BYTES_PER_SAMPLE)
    whole = len(data) // BYTES_PER_SAMPLE * BYTES_PER_SAMPLE
    return np.frombuffer(data[:whole], dtype="<i2").astype(np.int16)


async def stream_wav(
    final: Path,
    sample_rate: int,
    total_samples: int,
    *,
    generating: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """The clip as a WAV: the header at once, then every sample as soon as it is on disk,
    until all `total_samples` are sent. Ends early (short of the length its header gives, so
    a player sees a cut stream) when the clip stops generating without being finished."""
    yield wav_header(sample_rate, total_samples)
    want = total_samples * BYTES_PER_SAMPLE
    sent = 0
    f: BinaryIO | None = None
    start: int | None = None
    idle = 0.0
    try:
        while sent < want:
            if f is None:
                f = open_growing(final)
            if f is not None and start is None:
                start = data_offset(f)
            if f is not None and start is not None:
                f.seek(start + sent)
                data = f.read(want - sent)
                data = data[: len(data) // BYTES_PER_SAMPLE * BYTES_PER_SAMPLE]
                if data:
                    sent += len(data)
                    idle = 0.0
                    yield data
                    continue
            idle += POLL_S
            if idle >= CHECK_EVERY_S:
                idle = 0.0
                if f is not None and os.fstat(f.fileno()).st_nlink == 0:
                    return  # that attempt failed and removed its file: nothing more comes
                if not await generating() and not _finished(final, f):
                    return
            await asyncio.sleep(POLL_S)
    finally:
        if f is not None:
            f.close()


def _finished(final: Path, f: BinaryIO | None) -> bool:
    """True when the file we read is the clip's final file (renamed into place): then every
    remaining sample is in it, whatever the progress file says."""
    if f is None:
        return final.is_file()
    try:
        st = final.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(f.fileno())
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
