"""Where the REST bodies (app/schemas) meet the job contract (app/contract): the one place that
turns a request into a RunPlan or a job payload, filling in defaults and fresh seeds.

A value the API accepts reaches the worker as it was given: a temperature of 0 means greedy
sampling all the way down to the sampler, never "unset".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Literal

from app.contract.payloads import (
    AlbumPiece,
    AutoAlbumPayload,
    CoversPayload,
    GeneratePayload,
    PrimeExcerpt,
    RetentionPayload,
    TitlesPayload,
)
from app.contract.plan import RunPlan
from app.schemas.albums import AutoAlbumIn
from app.schemas.covers import CoversGenerateIn
from app.schemas.runs import GenerateIn, RunConfigIn
from app.schemas.titles import TitlesGenerateIn
from app.schemas.usage import RetentionIn
from app.services.errors import InvalidInput
from model.config import SampleRNNConfig, TrainConfig, override, preset

# Run-level defaults per preset (the engine's dataclasses hold the model/training defaults).
RUN_DEFAULTS: dict[str, dict[str, Any]] = {
    "tiny": {"epochs": 3, "clips_per_epoch": 2, "clip_seconds": 4.0},
    "paper": {"epochs": 20, "clips_per_epoch": 8, "clip_seconds": 30.0},
}
DEFAULT_TEMPERATURE = 1.0
AUTO_SECONDS = {"clips": None, "generate": 240.0, "epochs": 30.0, "best": None}  # track length


def fresh_seed() -> int:
    """A random 31-bit seed, stored in the payload so a redelivered job repeats itself."""
    return secrets.randbelow(2**31)


def run_plan(cfg: RunConfigIn) -> RunPlan:
    """The complete plan a worker trains with: the preset's defaults, then `cfg`'s overrides.

    `model` and `train` override fields of the engine's SampleRNNConfig / TrainConfig; the
    training config's epochs and seed are the run's. Raises InvalidInput for unknown or invalid
    engine fields.
    """
    name = cfg.preset or "paper"
    base = preset(name)
    defaults = RUN_DEFAULTS[name]
    model_changes = dict(cfg.model)
    if cfg.sample_rate is not None:
        if model_changes.get("sample_rate", cfg.sample_rate) != cfg.sample_rate:
            raise InvalidInput("sample_rate and model.sample_rate disagree")
        model_changes["sample_rate"] = cfg.sample_rate
    epochs = cfg.epochs if cfg.epochs is not None else defaults["epochs"]
    seed = cfg.seed if cfg.seed is not None else 0
    try:
        model_cfg: SampleRNNConfig = override(base.model, **model_changes)
        train_changes = {**cfg.train, "epochs": epochs, "seed": seed}
        train_cfg: TrainConfig = override(base.train, **train_changes)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"engine config: {exc}") from None
    return RunPlan(
        preset=name,
        epochs=epochs,
        clips_per_epoch=_given(cfg.clips_per_epoch, defaults["clips_per_epoch"]),
        clip_seconds=_given(cfg.clip_seconds, defaults["clip_seconds"]),
        temperature=_given(cfg.temperature, DEFAULT_TEMPERATURE),
        sample_rate=model_cfg.sample_rate,
        chunks=_given(cfg.chunks, base.dataset_chunks),
        seed=seed,
        model=model_cfg,
        train=train_cfg,
        gpus=_given(cfg.gpus, 1),
    )


def generate_payload(
    checkpoint_id: int, run_id: int, request: GenerateIn, prime: PrimeExcerpt | None = None
) -> GeneratePayload:
    """`prime`: the request's excerpt, resolved by app/services/priming.py."""
    return GeneratePayload(
        checkpoint_id=checkpoint_id,
        run_id=run_id,
        n=request.n,
        seconds=request.seconds,
        temperature=request.temperature,
        seed=request.seed if request.seed is not None else fresh_seed(),
        prime=prime,
    )


def titles_payload(project_id: int, request: TitlesGenerateIn) -> TitlesPayload:
    seed = request.seed if request.seed is not None else fresh_seed()
    return TitlesPayload(project_id=project_id, n=request.n, seed=seed, replace=request.replace)


def covers_payload(project_id: int, request: CoversGenerateIn) -> CoversPayload:
    return CoversPayload(
        project_id=project_id,
        method=request.method,
        size=request.size,
        seed=request.seed if request.seed is not None else fresh_seed(),
        backend=request.backend,
        n=request.n,
    )


def auto_album_payload(
    project_id: int,
    request: AutoAlbumIn,
    *,
    seed: int,
    run_id: int,
    pieces: Sequence[AlbumPiece] = (),
    checkpoint_id: int | None = None,
) -> AutoAlbumPayload:
    """The no-curation album's plan: the request's choices with their defaults, and the pieces
    the service drew with `seed` (mode clips, epochs) or the checkpoint that makes fresh clips
    (mode generate: `tracks` clips of `seconds`, seeded by the album's seed)."""
    seconds = auto_seconds(request)
    generate = None
    if checkpoint_id is not None:
        assert seconds is not None, "generate mode always has a track length"
        generate = GeneratePayload(
            checkpoint_id=checkpoint_id, run_id=run_id, n=request.tracks, seconds=seconds,
            temperature=request.temperature, seed=seed,
        )
    return AutoAlbumPayload(
        project_id=project_id,
        mode=request.mode,
        seed=seed,
        run_id=run_id,
        epoch=auto_epoch(request),
        seconds=seconds,
        tracks=request.tracks,
        title=request.title,
        artist=request.artist,
        gap_s=request.gap_ms / 1000.0,
        formats=("flac", *sorted(set(request.formats) - {"flac"})),
        pieces=tuple(pieces),
        generate=generate,
        include_flagged=request.include_flagged,
    )


def auto_seconds(request: AutoAlbumIn) -> float | None:
    return request.seconds if request.seconds is not None else AUTO_SECONDS[request.mode]


def auto_epoch(request: AutoAlbumIn) -> Literal["last", "all"] | int:
    if request.epoch is not None:
        return request.epoch
    return "all" if request.mode in ("epochs", "best") else "last"


def _given(value: Any, default: Any) -> Any:
    """`value` unless it was left out (None): 0 and 0.0 are values, not "unset"."""
    return default if value is None else value


def retention_payload(run_id: int, request: RetentionIn) -> RetentionPayload:
    return RetentionPayload(run_id=run_id, keep_last=request.keep_last)
