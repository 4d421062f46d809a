"""Reading a clip's file while write_clips writes it (no worker: the writer is called here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from app.live.growing import data_offset, pcm_so_far, stream_wav, wav_header
from app.live.progress import part_path
from model.generate import write_clips

SR = 16000


def test_the_header_is_the_one_libsndfile_writes_on_close(tmp_path: Path) -> None:
    final = tmp_path / "e0001-0000.wav"
    audio = np.linspace(-0.5, 0.5, 3 * SR, dtype=np.float32)[None, :]
    with write_clips([final], SR) as write:
        write(0, audio)
    assert final.read_bytes()[:44] == wav_header(SR, 3 * SR)


def test_a_growing_file_reads_as_what_is_written_so_far(tmp_path: Path) -> None:
    final = tmp_path / "e0001-0000.wav"
    block = (np.arange(SR, dtype=np.float32) % 200 / 400)[None, :]
    assert pcm_so_far(final, 3 * SR).shape == (0,)  # not opened yet
    with write_clips([final], SR) as write:
        assert pcm_so_far(final, 3 * SR).shape == (0,)  # opened, header only
        write(0, block)
        with open(part_path(final), "rb") as f:
            assert data_offset(f) == 44
        so_far = pcm_so_far(final, 3 * SR)
        assert so_far.shape == (SR,)
        write(SR, block)
        assert pcm_so_far(final, 3 * SR).shape == (2 * SR,)
    assert np.array_equal(pcm_so_far(final, 3 * SR)[:SR], so_far)  # renamed: the same samples


def test_a_stream_follows_the_file_across_its_rename_and_ends_with_it(tmp_path: Path) -> None:
    final = tmp_path / "e0001-0000.wav"
    block = (np.arange(SR // 4, dtype=np.float32) % 50 / 100)[None, :]

    async def listen() -> bytes:
        out = b""
        async for piece in stream_wav(final, SR, SR, generating=_true):
            out += piece
        return out

    async def main() -> bytes:
        listener = asyncio.create_task(listen())
        with write_clips([final], SR) as write:
            for k in range(4):
                write(k * SR // 4, block)
                await asyncio.sleep(0.1)
        return await asyncio.wait_for(listener, 10)

    assert asyncio.run(main()) == final.read_bytes()


def test_a_stream_whose_writer_gives_up_ends_short(tmp_path: Path) -> None:
    final = tmp_path / "e0001-0000.wav"
    block = np.zeros((1, SR // 4), dtype=np.float32)

    async def main() -> bytes:
        out = b""

        async def listen() -> None:
            nonlocal out
            async for piece in stream_wav(final, SR, SR, generating=_true):
                out += piece

        listener = asyncio.create_task(listen())
        try:
            with write_clips([final], SR) as write:
                write(0, block)
                await asyncio.sleep(0.2)
                raise RuntimeError("cancelled")
        except RuntimeError:
            pass
        await asyncio.wait_for(listener, 10)  # the removed file: nothing more will come
        return out

    heard = asyncio.run(main())
    assert len(heard) == 44 + 2 * (SR // 4) and not final.exists()


async def _true() -> bool:
    return True
