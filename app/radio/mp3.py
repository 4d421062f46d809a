"""MPEG audio layer III frames: where one ends, so the radio cuts its stream only between them.

The encoder runs without a bit reservoir (`-reservoir 0`), so every frame decodes on its own:
a listener who joins at any segment starts on a whole frame, and a segment's frames hold a
known number of samples (576 per frame at 16 kHz, MPEG-2; 1152 at 32 kHz, MPEG-1).
"""

from __future__ import annotations

# kbit/s by bitrate index, layer III: MPEG-1, and MPEG-2/2.5 (lower sampling frequencies)
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_length(header: bytes) -> int | None:
    """Bytes of the layer III frame whose 4-byte header is `header`; None when it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0x3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    layer = (header[1] >> 1) & 0x3  # 1: layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0x3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    padding = (header[2] >> 1) & 0x1
    rate = _RATES[version][rate_index]
    if version == 3:
        return 144000 * _BITRATES_V1[bitrate_index] // rate + padding
    return 72000 * _BITRATES_V2[bitrate_index] // rate + padding


def samples_per_frame(sample_rate: int) -> int:
    return 1152 if sample_rate >= 32000 else 576


class FrameSplitter:
    """Feed encoder output in any pieces; `feed` returns the whole frames completed so far."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> bytes:
        self._pending += data
        out = bytearray()
        i = 0
        buf = self._pending
        while i + 4 <= len(buf):
            n = frame_length(bytes(buf[i : i + 4]))
            if n is None:  # not a header (e.g. a stray byte): resynchronise on the next one
                i += 1
                continue
            if i + n > len(buf):
                break
            out += buf[i : i + n]
            i += n
        del buf[:i]
        return bytes(out)


def count_frames(data: bytes) -> int:
    """Whole frames at the start of `data` (output of `FrameSplitter.feed`)."""
    count, i = 0, 0
    while i + 4 <= len(data):
        n = frame_length(data[i : i + 4])
        if n is None:
            break
        count, i = count + 1, i + n
    return count
