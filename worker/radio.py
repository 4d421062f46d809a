"""The radio: an endless stream generated from one checkpoint, until its job is cancelled.

The generator samples one stream with the engine's streaming sampler (model.generate's
`generate_blocks`, `seconds=None`), one segment (`segment_s`) per block, encodes it with one
continuous MP3 encoder and writes each segment, with its PCM, to the shared buffer in media
storage (app/radio/buffer.py), from which the web app serves every listener. It runs ahead of
the air clock by up to `ahead_s` and then waits, so a hiccup of the worker is absorbed by the
buffer instead of the listeners, and it measures its realtime factor as it goes.

A radio is a job like any other: it holds its lease and heartbeat while it streams, a cancel
(DELETE, the stop button) stops it between two segments, and a worker that dies hands it over
through the sweeper. The new worker cannot resume the old one's RNN state, so it restarts from
the checkpoint, primed with the last seconds of the stream (the engine's `prime`) so the music
carries on from where it was, and with a seed of its own; the reason is logged and recorded in
the buffer's head (`Generation.reason`). If it fell behind the air clock, the clock moves on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from app.contract.payloads import RadioPayload
from app.radio.buffer import Generation, Head, RadioBuffer, radio_key
from app.services import training
from model.checkpoint import load_model
from model.generate import generate_blocks
from worker.clips import derive_seed, torch_threads
from worker.errors import JobError
from worker.lease import Lease, Stopped
from worker.mp3_encoder import Mp3Encoder
from worker.priming import load_prime
from worker.runners import device
from worker.runtime import Runtime

logger = logging.getLogger(__name__)

TAKEOVER_PRIME_S = 2.0  # how much of the stream's end a new generator reads first
RTF_SMOOTHING = 0.2  # weight of the newest block in the realtime factor's moving average


def run_radio(rt: Runtime, lease: Lease, payload: RadioPayload) -> dict[str, Any]:
    with rt.reading() as session:
        source = training.checkpoint_source(session, payload.checkpoint_id)
    path = rt.storage.path(source.key)
    if not path.is_file():
        raise JobError(f"the checkpoint file of epoch {source.epoch} is missing from media storage")
    buffer = RadioBuffer(rt.storage.path(radio_key(source.project_id, lease.job_id)))
    dev = device()
    began = time.monotonic()
    sr = source.plan.sample_rate
    # ffmpeg starts while the model loads: both are on the way to the first audio byte.
    with torch_threads(rt.settings.generate_threads), Mp3Encoder(sr) as encoder:
        model = load_model(path, dev)
        loaded = time.monotonic() - began
        before = buffer.head()
        if before is None:
            number, first_segment, reason = 0, 0, "started"
            prime: npt.NDArray[np.float32] | None = None
            if payload.prime is not None:
                prime = load_prime(rt.storage, payload.prime, sr, model.cfg.lookback)
            seed = payload.seed
        else:
            number, first_segment = len(before.generations), before.next
            start, pcm = buffer.pcm(max(before.first, before.next - 8), before.next)
            prime = pcm[-int(TAKEOVER_PRIME_S * sr):].astype(np.float32) / 32768.0
            if prime.shape[0] < model.cfg.lookback:
                prime = None
            seed = derive_seed(payload.seed, number)
            lost = max(0.0, time.time() - (before.t0 + before.next * before.segment_s))
            reason = (
                f"attempt {lease.attempt} took the radio over at segment {before.next}: the "
                f"generator restarted from epoch {source.epoch}'s checkpoint, primed with the "
                f"last {0 if prime is None else prime.shape[0] / sr:.1f} s of the stream "
                f"(the previous worker's state is lost; {lost:.1f} s of air time without it)"
            )
            logger.warning("radio %d: %s", lease.job_id, reason)
        lease.report(progress=0.0, message=reason)
        blocks = generate_blocks(
            model, [seed], seconds=None, temperature=payload.temperature, device=dev,
            prime=prime, block_seconds=payload.segment_s,
            fused=rt.settings.generate_fused and dev.startswith("cuda"),
        )
        generation = Generation(number, first_segment, seed, time.time(), reason)

        def announce() -> None:
            logger.info(
                "radio %d: first segment %.2f s after the runner started (model loaded in "
                "%.2f s)", lease.job_id, time.monotonic() - began, loaded,
            )

        _stream(lease, payload, buffer, before, generation, source.epoch, sr, blocks, encoder,
                announce)
    raise AssertionError("unreachable: the radio only ends by Stopped")


def _stream(
    lease: Lease,
    payload: RadioPayload,
    buffer: RadioBuffer,
    before: Head | None,
    generation: Generation,
    epoch: int,
    sr: int,
    blocks: Any,
    encoder: Mp3Encoder,
    announce: Callable[[], None],
) -> None:
    """Generate, encode and publish segments for ever (raises Stopped on cancel/shutdown)."""
    head = before
    k = generation.first_segment
    rtf: float | None = None if head is None else head.rtf
    while True:
        lease.check()
        t_start = time.monotonic()
        _, audio = next(blocks)  # [1, segment_samples] float32
        took = time.monotonic() - t_start
        pcm = _to_pcm(audio[0])
        mp3 = encoder.encode(pcm, wait_s=0.3 if k == generation.first_segment else 0.0)
        buffer.write_segment(k, pcm, mp3)
        now = time.time()
        if k > generation.first_segment:  # the first block also loads and warms the sampler
            inst = (pcm.shape[0] / sr) / max(took, 1e-6)
            rtf = inst if rtf is None else (1 - RTF_SMOOTHING) * rtf + RTF_SMOOTHING * inst
        if head is None:
            head = Head(
                radio_id=lease.job_id, checkpoint_id=payload.checkpoint_id, epoch=epoch,
                temperature=payload.temperature, sample_rate=sr, segment_samples=pcm.shape[0],
                ahead_s=payload.ahead_s, keep_s=payload.keep_s, t0=now,
                generations=(generation,),
            )
        elif k == generation.first_segment:
            t0 = head.t0
            if head.on_air(now) > k:  # the air clock ran past what was generated: move it on
                t0 = now - k * head.segment_s
            head = replace(head, t0=t0, generations=(*head.generations, generation))
        on_air = head.on_air(now)
        first = max(head.first, on_air - int(payload.keep_s / head.segment_s))
        buffer.drop_before(head.first, first)
        head = replace(head, next=k + 1, first=first, rtf=rtf, updated_at=now)
        buffer.write_head(head)
        if k == generation.first_segment:
            announce()
        elapsed = (k + 1) * head.segment_s
        lease.report(
            progress=0.0,
            message=f"on air: {elapsed:.0f} s generated"
            + ("" if rtf is None else f", {rtf:.2f}× real time"),
        )
        k += 1
        _wait_for_air(lease, head)


def _wait_for_air(lease: Lease, head: Head) -> None:
    """Sleep while the buffer holds more than `ahead_s` not yet on air."""
    while (head.next * head.segment_s) - (time.time() - head.t0) > head.ahead_s:
        if lease.should_stop():
            raise Stopped(lease.stop_reason)
        time.sleep(0.05)


def _to_pcm(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
