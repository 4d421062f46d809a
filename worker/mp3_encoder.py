"""One continuous MP3 encoder for an endless stream: an ffmpeg process fed 16-bit PCM on stdin.

One encoder for the whole stream, not one per segment: a per-segment encoder would start every
segment with its own encoder delay and padding, an audible gap at each cut. LAME runs without a
bit reservoir so every frame decodes on its own (app/radio/mp3.py) and the stream can be cut
between any two frames. A reader thread drains ffmpeg's stdout so the pipe never fills up;
`encode` hands back the whole frames that have come out so far.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from types import TracebackType

import numpy as np
import numpy.typing as npt

from app.radio.mp3 import FrameSplitter
from worker.errors import JobError

BITRATE_K = 64


class Mp3Encoder:
    def __init__(self, sample_rate: int, *, bitrate_k: int = BITRATE_K) -> None:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise JobError("the radio needs ffmpeg on the gpu worker to encode MP3")
        self._proc = subprocess.Popen(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-probesize", "32", "-analyzeduration",
             "0", "-fflags", "+nobuffer", "-f", "s16le", "-ar",
             str(sample_rate), "-ac", "1", "-i", "pipe:0", "-c:a", "libmp3lame",
             "-b:a", f"{bitrate_k}k", "-reservoir", "0", "-write_xing", "0",
             "-id3v2_version", "0", "-flush_packets", "1", "-f", "mp3", "pipe:1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._out = bytearray()
        self._lock = threading.Lock()
        self._splitter = FrameSplitter()
        self._reader = threading.Thread(target=self._drain, name="mp3-encoder", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        out = self._proc.stdout
        assert out is not None
        while chunk := os.read(out.fileno(), 65536):
            with self._lock:
                self._out += chunk

    def encode(self, pcm: npt.NDArray[np.int16], *, wait_s: float = 0.0) -> bytes:
        """Feed `pcm`; the whole frames encoded so far (waiting up to `wait_s` for some)."""
        assert self._proc.stdin is not None
        if self._proc.poll() is not None:
            raise JobError(f"the MP3 encoder (ffmpeg) exited with {self._proc.returncode}")
        self._proc.stdin.write(pcm.astype("<i2").tobytes())
        self._proc.stdin.flush()
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock:
                data = bytes(self._out)
                self._out.clear()
            frames = self._splitter.feed(data)
            if frames or time.monotonic() >= deadline:
                return frames
            time.sleep(0.01)

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Mp3Encoder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
