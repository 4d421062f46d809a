"""One listener's view of the shared buffer: an async iterator of MP3 bytes, paced by the air
clock, with optional ICY metadata.

Every listener reads the buffer's files with its own cursor (app/radio/buffer.py), so nothing a
listener does reaches the generator or another listener. It starts at the segment on air, gets
`preroll_s` ahead at once (so a player starts without waiting), then one segment as each comes
on air. A listener that falls more than `max_lag_s` behind the air clock (its connection stalled,
or the segment it wanted was dropped) skips ahead to the air clock; when the generator is behind
(a worker handing over, hardware that cannot keep up), the listener waits for the next segment
and the player shows it is buffering, rather than being fed silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from app.radio.buffer import Head, RadioBuffer

logger = logging.getLogger(__name__)

POLL_S = 0.05
LIVENESS_EVERY_S = 1.0
ICY_METAINT = 8192  # audio bytes between two ICY metadata blocks


def start_segment(head: Head, now: float | None = None) -> int:
    """Where a new listener starts: the segment on air (or the newest one written)."""
    now = time.time() if now is None else now
    return max(head.first, min(head.on_air(now), head.next - 1))


async def segments(
    buffer: RadioBuffer,
    start: int,
    *,
    is_live: Callable[[], Awaitable[bool]],
    preroll_s: float = 2.0,
    max_lag_s: float = 10.0,
    on_segment: Callable[[Head, int], None] | None = None,
) -> AsyncIterator[bytes]:
    """MP3 bytes of segments start, start + 1, ... until the radio stops."""
    k = start
    checked = time.monotonic()
    while True:
        head = buffer.head()
        if head is not None:
            now = time.time()
            air = head.on_air(now)
            lag = int(max_lag_s / head.segment_s)
            if k < head.first or (k < head.next and k < air - lag):
                skip_to = max(head.first, min(air, head.next - 1))
                logger.info("radio %d: a listener skips %d segments", head.radio_id, skip_to - k)
                k = skip_to
            if k < head.next and k <= air + int(preroll_s / head.segment_s):
                data = buffer.mp3(k)
                if data is not None:
                    if on_segment is not None:
                        on_segment(head, k)
                    k += 1
                    if data:
                        yield data
                    continue
        if time.monotonic() - checked > LIVENESS_EVERY_S:
            checked = time.monotonic()
            if not await is_live():
                return
        await asyncio.sleep(POLL_S)


async def with_icy(
    audio: AsyncIterator[bytes], title: Callable[[], str], metaint: int = ICY_METAINT
) -> AsyncIterator[bytes]:
    """Interleave ICY metadata (`StreamTitle='...';`) every `metaint` audio bytes: what
    Icecast relays, VLC and ffplay show as the title when they ask with `Icy-MetaData: 1`."""
    left = metaint
    sent = ""
    async for chunk in audio:
        while chunk:
            piece, chunk = chunk[:left], chunk[left:]
            yield piece
            left -= len(piece)
            if left == 0:
                now = title()
                yield icy_block(now if now != sent else None)
                sent, left = now, metaint


def icy_block(title: str | None) -> bytes:
    """One metadata block: a length byte (x16) and the padded text; b"\\0" when unchanged."""
    if title is None:
        return b"\x00"
    text = f"StreamTitle='{title.replace(chr(39), chr(8217))}';".encode()[: 255 * 16]
    n = -(-len(text) // 16)
    return bytes([n]) + text.ljust(n * 16, b"\x00")
