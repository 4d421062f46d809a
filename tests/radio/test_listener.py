"""A listener's paced reader over a buffer written by hand (no worker): where it starts, the
preroll it gets at once, waiting (not inventing audio) when the generator is behind, and a
listener far behind the air clock skipping ahead instead of replaying old audio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from app.radio.buffer import Generation, Head, RadioBuffer
from app.radio.listener import segments, start_segment

SR, SEG = 16000, 4000  # 0.25 s segments


def buffer_with(tmp: Path, *, on_air: int, written: int, first: int = 0) -> RadioBuffer:
    """Segments first .. written - 1 (each one's MP3 bytes are its number), `on_air` on air."""
    buffer = RadioBuffer(tmp)
    for k in range(first, written):
        buffer.write_segment(k, np.zeros(SEG, dtype=np.int16), f"[{k}]".encode())
    head = Head(
        radio_id=1, checkpoint_id=1, epoch=1, temperature=1.0, sample_rate=SR,
        segment_samples=SEG, ahead_s=8.0, keep_s=60.0,
        # the air clock moves on to the next segment 0.24 s from now
        t0=time.time() - (on_air + 0.05) * SEG / SR, next=written, first=first,
        generations=(Generation(0, 0, 7, 0.0, "started"),),
    )
    buffer.write_head(head)
    return buffer


async def live() -> bool:
    return True


def read(buffer: RadioBuffer, start: int, seconds: float) -> list[int]:
    async def collect() -> list[int]:
        got: list[int] = []

        async def take(it: AsyncIterator[bytes]) -> None:
            async for data in it:
                got.append(int(data.strip(b"[]")))

        try:
            await asyncio.wait_for(take(segments(buffer, start, is_live=live)), seconds)
        except TimeoutError:
            pass
        return got

    return asyncio.run(collect())


def test_a_new_listener_starts_on_air_and_gets_the_preroll_at_once(tmp_path: Path) -> None:
    buffer = buffer_with(tmp_path, on_air=40, written=80)
    head = buffer.head()
    assert head is not None
    start = start_segment(head)
    assert start == 40
    got = read(buffer, start, 0.15)
    assert got == list(range(40, 40 + 8 + 1))  # on air + 2 s of preroll, nothing further ahead


def test_a_listener_waits_for_a_generator_that_is_behind(tmp_path: Path) -> None:
    buffer = buffer_with(tmp_path, on_air=40, written=30)
    head = buffer.head()
    assert head is not None
    start = start_segment(head)
    assert start == 29  # the newest there is
    assert read(buffer, start, 0.15) == [29]  # then it waits: no invented audio, no skip


def test_a_listener_far_behind_the_air_clock_skips_ahead(tmp_path: Path) -> None:
    buffer = buffer_with(tmp_path, on_air=200, written=220, first=150)
    got = read(buffer, 100, 0.3)  # stalled for a long while: its segment 100 is long dropped
    assert got[0] in (200, 201) and got == sorted(got) and len(set(got)) == len(got)
    got = read(buffer, 155, 0.3)  # still kept, but 11 s behind: also skips to the air clock
    assert got[0] in (200, 201, 202)
