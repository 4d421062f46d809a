"""`albumbot train` and `albumbot generate`: the engine on the command line, no web app needed."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .cli_options import MODEL_FLAGS, add_model_flags, changed_fields
from .cli_torchrun import add_launch_flags, launch, wants_launch

if TYPE_CHECKING:  # only for annotations: importing this module stays light
    import numpy as np
    import numpy.typing as npt

    from .generate import BlockCallback

log = logging.getLogger(__name__)

TRAIN_FLAGS = {
    "epochs": "epochs", "batch_size": "batch_size", "seq_len": "seq_len",
    "learning_rate": "learning_rate", "seed": "seed", "max_segments": "max_segments_per_chunk",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_train(sub)
    _register_generate(sub)


def _register_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train",
        help="train SampleRNN on a prepared dataset, one checkpoint per epoch",
        description=(
            "Train SampleRNN on a dataset made by `albumbot prepare`. Every epoch (one pass over "
            "the train split) ends with the validation NLL in bits per sample and a checkpoint "
            "RUN/epoch-NNNN.pt; the test NLL is printed at the end. A checkpoint holds the whole "
            "run (config, weights, optimizer, step, RNG), so --resume continues it exactly."
        ),
        epilog="Examples:\n"
        "  albumbot train data/ds --out runs/demo --preset tiny --epochs 3\n"
        "  albumbot train data/ds --out runs/demo --resume runs/demo/epoch-0003.pt --epochs 6\n"
        "  albumbot train data/ds --out runs/big --preset paper --device cuda\n"
        "  albumbot train data/ds --out runs/big --preset paper --device cuda --nproc 8\n"
        "  albumbot train data/ds --out runs/a --preset tiny --device cpu --nproc 2\n"
        "  # two machines (run on each, --node-rank 0 and 1; same paths on both):\n"
        "  albumbot train /shared/ds --out /shared/runs/big --preset paper --device cuda \\\n"
        "      --nproc 8 --nnodes 2 --node-rank 0 --rdzv-endpoint host0:29500",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", type=Path, help="dataset folder (has manifest.json)")
    p.add_argument("--out", type=Path, required=True, help="run folder for the checkpoints")
    p.add_argument("--preset", choices=["tiny", "paper"], default="tiny",
                   help="network and training defaults: tiny (CPU, minutes) or paper (GPU); "
                   "default tiny")
    p.add_argument("--resume", type=Path, metavar="CKPT",
                   help="continue the run of this checkpoint (its config is used; --epochs is "
                   "the new total)")
    p.add_argument("--epochs", type=int, help="total epochs of the run (default: the preset's)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    g = p.add_argument_group("training overrides")
    g.add_argument("--batch-size", type=int, help="chunks per step")
    g.add_argument("--seq-len", type=int, help="samples per truncated-BPTT segment")
    g.add_argument("--learning-rate", type=float, help="Adam learning rate")
    g.add_argument("--seed", type=int, help="run seed: weight init and chunk order")
    g.add_argument("--max-segments", type=int,
                   help="use at most this many segments of each chunk per epoch")
    add_model_flags(p.add_argument_group("model overrides (not with --resume)"))
    add_launch_flags(p)
    p.set_defaults(handler=lambda args: run_train(args, p))


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if wants_launch(args):
        return launch(args, parser)
    import torch
    from tqdm import tqdm

    from .checkpoint import load_checkpoint
    from .config import override, preset
    from .distributed import DistContext, from_torchrun, leave
    from .train import EpochResult, Progress, train

    dist = from_torchrun(args.device) if args.torchrun else DistContext()
    if args.threads:
        torch.set_num_threads(args.threads)
    model_changes = changed_fields(args, MODEL_FLAGS)
    train_changes = changed_fields(args, TRAIN_FLAGS)
    if args.resume is not None:
        ckpt = load_checkpoint(args.resume)
        model_cfg = override(ckpt.model_config, **model_changes)
        train_cfg = override(ckpt.train_config, **train_changes)
    else:
        p = preset(args.preset)
        model_cfg = override(p.model, **model_changes)
        train_cfg = override(p.train, **train_changes)
    bar_format = "{desc} |{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]"
    bar = tqdm(total=1000, unit="‰", disable=None if dist.is_main else True,
               bar_format=bar_format)

    def on_progress(p: Progress) -> None:
        bar.set_description(
            f"epoch {p.epoch}/{train_cfg.epochs} step {p.step} loss {p.loss_bits:.2f} bits"
        )
        bar.n = int(p.fraction * 1000)
        bar.refresh()

    def on_epoch(e: EpochResult) -> None:
        ranks = f", {e.world_size} ranks" if e.world_size > 1 else ""
        bar.write(
            f"epoch {e.epoch}: train {e.train_nll_bits:.3f} bits, "
            f"valid {e.valid_nll_bits:.3f} bits ({e.seconds:.0f} s{ranks}) -> {e.checkpoint}"
        )
        bar.reset()

    try:
        result = train(model_cfg, train_cfg, args.dataset, args.out, resume=args.resume,
                       device=args.device, on_epoch=on_epoch, on_progress=on_progress,
                       dist=dist)
    finally:
        bar.close()
        leave(dist)
    if result.test_nll_bits is not None and dist.is_main:
        sys.stdout.write(
            f"test NLL {result.test_nll_bits:.3f} bits/sample; "
            f"last checkpoint {result.last_checkpoint}\n"
        )
    return 0


def _register_generate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "generate",
        help="generate clips from a checkpoint",
        description=(
            "Sample clips from a trained checkpoint, each from a random initial RNN state. Files "
            "are written while they are generated (under a temporary name, renamed when done), "
            "so clips of hours need no more memory than seconds. Same checkpoint, seed and options "
            "give the same audio, and clip i is the same whatever -n and --batch are (each clip "
            "has its own seed, derived from --seed and i)."
        ),
        epilog="Examples:\n"
        "  albumbot generate runs/demo/epoch-0003.pt --out clips -n 8 --seconds 30\n"
        "  albumbot generate ckpt.pt --out clips -n 1 --seconds 600 --temperature 0.95 "
        "--format flac\n"
        "  albumbot generate ckpt.pt --out clips --prime intro.wav --prime-seconds 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path, help="a checkpoint written by `albumbot train`")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for the clips (clip-SEED-NNN.wav)")
    p.add_argument("-n", type=int, default=4, help="number of clips (default 4)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each clip (default 10)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="1 samples the model as trained; lower is tamer, 0 is greedy (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--batch", type=int, default=16,
                   help="clips generated in parallel; more is faster per clip, same audio "
                   "(default 16)")
    p.add_argument("--weights", choices=["fp32", "int8"], default="fp32",
                   help="sampler weights: fp32 (exact) or int8 (CPU, batch 1: ~2-3x faster at "
                   "dim 1024, logits within a few %% of fp32; default fp32)")
    p.add_argument("--format", choices=["wav", "flac"], default="wav",
                   help="file format (default wav)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--prime", type=Path,
                   help="audio file to warm the model on; clips continue from its end")
    p.add_argument("--prime-seconds", type=float, default=2.0,
                   help="seconds of the prime's end to use (default 2)")
    p.set_defaults(handler=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .checkpoint import load_model
    from .generate import generate, write_clips
    from .streams import stream_seed

    if args.n < 1 or args.batch < 1:
        raise ValueError("-n and --batch must be at least 1")
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint, args.device)
    sr = model.cfg.sample_rate
    prime = _load_prime(args.prime, args.prime_seconds, sr) if args.prime else None
    total = int(round(args.seconds * sr)) * args.n
    written: list[Path] = []
    bar_format = "{desc} |{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]"
    with tqdm(total=total / sr, unit="s", desc="generating", disable=None,
              bar_format=bar_format) as bar:
        for b0 in range(0, args.n, args.batch):
            count = min(args.batch, args.n - b0)
            paths = [
                args.out / f"clip-{args.seed}-{i:03d}.{args.format}" for i in range(b0, b0 + count)
            ]

            with write_clips(paths, sr) as write:
                def on_block(
                    start: int, audio: npt.NDArray[np.float32], write: BlockCallback = write
                ) -> None:
                    write(start, audio)
                    bar.update(audio.size / sr)

                seeds = [stream_seed(args.seed, i) for i in range(b0, b0 + count)]
                generate(model, seeds=seeds, seconds=args.seconds, temperature=args.temperature,
                         device=args.device, prime=prime, keep=False, on_block=on_block,
                         weights=args.weights)
            written += paths
    sys.stdout.write(f"wrote {len(written)} clips of {args.seconds:g} s to {args.out}\n")
    return 0


def _load_prime(path: Path, seconds: float, sr: int) -> npt.NDArray[np.float32]:
    from .audio import decode
    from .preprocess import remove_dc, resample, to_mono

    audio, file_sr = decode(path)
    mono = remove_dc(to_mono(audio))
    mono = resample(mono, file_sr, sr) if file_sr != sr else mono
    return mono[-int(seconds * sr):]


def main(argv: list[str] | None = None) -> int:
    """`python -m model.cli_engine train|generate ...`: what torchrun starts on every rank."""
    parser = argparse.ArgumentParser(prog="albumbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        sys.stderr.write(f"albumbot {args.command}: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
