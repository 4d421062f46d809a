"""`albumbot bench generate|train|quality`: throughput figures as one JSON object.

Benchmarks run the same code paths as `albumbot generate` and `albumbot train` (the fast sampler,
the TBPTT training step) on a randomly initialised network of the requested shape; `quality`
times clip analysis (model/bench_quality.py) and follows it through a short real run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .cli_options import MODEL_FLAGS, add_model_flags, changed_fields

if TYPE_CHECKING:
    from .config import SampleRNNConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="measure generation or training throughput, or clip analysis (JSON)",
        description=(
            "Measure samples per second of generation or training for a network shape, on a "
            "randomly initialised model (speed does not depend on the weights). Prints one JSON "
            "object with samples_per_s_total, samples_per_s_per_stream, realtime_factor "
            "(generated seconds per wall second per stream at 16 kHz), the device and the config. "
            "`quality` times flags for one clip-minute, closeness of one clip-minute against a "
            "60-minute album, and reports the style distance per epoch of a short real run "
            "(model/bench_quality.py)."
        ),
        epilog="Examples:\n"
        "  albumbot bench generate --cell gru --dim 256 --layers 2 --batch 1 --threads 1 --json\n"
        "  albumbot bench train --cell gru --dim 256 --layers 2 --batch 16 --seq-len 1024 "
        "--threads 2\n"
        "  albumbot bench generate --cell gru --dim 1024 --layers 5 --batch 1 --threads 1 "
        "--weights int8 --json\n"
        "  albumbot bench clips --preset tiny --clips 8 --seconds 2 --json\n"
        "  albumbot bench generate --preset paper --batch 128 --device cuda --json\n"
        "  OMP_NUM_THREADS=1 albumbot bench quality --json\n"
        "  albumbot bench quality --album-minutes 10 --run-epochs 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("what", choices=["generate", "clips", "train", "quality"],
                   help="generate: one batch of streams; clips: k clips as one batch against "
                   "one clip alone; train: TBPTT steps; quality: clip analysis per clip-minute")
    p.add_argument("--preset", choices=["paper", "tiny"], default=None,
                   help="start from a preset's shape (other options override it)")
    add_model_flags(p.add_argument_group(
        "network shape (default: 2-tier GRU, dim 256, 2 layers, frame 16, embedding 256, "
        "256 levels)"))
    p.add_argument("--batch", type=int, default=1,
                   help="parallel streams (generate) or chunks per step (train)")
    p.add_argument("--samples", type=int, default=16000,
                   help="generate: samples per stream to time (default 16000 = 1 s at 16 kHz)")
    p.add_argument("--steps", type=int, default=10,
                   help="train: optimizer steps to time (default 10)")
    p.add_argument("--seq-len", type=int, default=1024,
                   help="train: TBPTT segment length (default 1024)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: 1 for generate, all cores for train)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--clips", type=int, default=8, help="clips: how many (default 8)")
    p.add_argument("--seconds", type=float, default=2.0,
                   help="clips: seconds of each clip (default 2)")
    p.add_argument("--weights", choices=["fp32", "int8"], default="fp32",
                   help="generate, clips: sampler weights; int8 is CPU only (default fp32)")
    p.add_argument("--fused", action="store_true",
                   help="generate, clips: the Triton sample-level kernel (CUDA)")
    p.add_argument("--no-cuda-graph", action="store_true",
                   help="generate: disable CUDA graph replay")
    q = p.add_argument_group("quality")
    q.add_argument("--album-minutes", type=float, default=60.0,
                   help="length of the synthetic album closeness is measured against (default 60)")
    q.add_argument("--clip-minutes", type=float, default=1.0, help="clip length (default 1)")
    q.add_argument("--run-epochs", type=int, default=6,
                   help="epochs of the real tiny run (default 6; 0 skips it)")
    q.add_argument("--clips-per-epoch", type=int, default=4, help="clips analysed per epoch")
    p.add_argument("--json", action="store_true",
                   help="print only the JSON object (default prints it indented)")
    p.set_defaults(handler=run)


def _config(args: argparse.Namespace) -> SampleRNNConfig:
    from .config import SampleRNNConfig, override, preset

    base = preset(args.preset).model if args.preset else SampleRNNConfig(
        dim=256, n_rnn=2, cell="gru", embed_size=256, mlp_layers=2
    )
    changes = changed_fields(args, MODEL_FLAGS)
    return override(base, **changes)


def run(args: argparse.Namespace) -> int:
    from .bench import bench_clips, bench_generate, bench_train

    cfg = _config(args)
    if args.what == "quality":
        from .bench_quality import bench_quality

        for name in ("album_minutes", "clip_minutes"):
            if not getattr(args, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0")
        if args.run_epochs < 0 or args.clips_per_epoch < 1:
            raise ValueError("--run-epochs must be >= 0 and --clips-per-epoch >= 1")
        result = bench_quality(
            album_minutes=args.album_minutes, clip_minutes=args.clip_minutes,
            run_epochs=args.run_epochs, clips_per_epoch=args.clips_per_epoch,
            threads=args.threads or 1,
        )
    elif args.what == "generate":
        result = bench_generate(
            cfg, batch=args.batch, samples=args.samples, threads=args.threads or 1,
            device=args.device, cuda_graph=not args.no_cuda_graph, weights=args.weights,
            fused=args.fused,
        )
    elif args.what == "clips":
        if args.clips < 1 or not args.seconds > 0:
            raise ValueError("--clips must be >= 1 and --seconds > 0")
        result = bench_clips(
            cfg, clips=args.clips, seconds=args.seconds, threads=args.threads or 1,
            device=args.device, weights=args.weights, fused=args.fused,
        )
    else:
        result = bench_train(
            cfg, batch=args.batch, seq_len=args.seq_len, steps=args.steps,
            threads=args.threads, device=args.device,
        )
    json.dump(result, sys.stdout, indent=None if args.json else 2)
    sys.stdout.write("\n")
    return 0
