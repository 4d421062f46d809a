"""`albumbot train --nproc N`: the same training command, run data-parallel under torchrun.

The launcher re-runs the very command line it was given (minus its launcher flags, plus
`--torchrun`) as `python -m torch.distributed.run ... -m model.cli_engine train ...`; every
process torchrun starts joins the run's group from torchrun's environment
(model.distributed.from_torchrun), rank 0 prints and writes the checkpoints. Several machines:
the same command on each, with `--nnodes`, `--node-rank` and `--rdzv-endpoint` (torchrun's
rendezvous); the dataset and the run folder must be at the same path on every machine (rank 0
writes, every rank reads `--resume`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

LAUNCH_FLAGS = ("nproc", "nnodes", "node_rank", "rdzv_endpoint", "rdzv_id", "rdzv_backend")


def add_launch_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data-parallel training (torchrun; NCCL on CUDA, gloo on CPU)")
    g.add_argument("--nproc", type=int,
                   help="processes on this machine: one per GPU with --device cuda, or CPU "
                   "processes with --device cpu; the batch size stays the global batch")
    g.add_argument("--nnodes", help="machines taking part, e.g. 2 (torchrun --nnodes)")
    g.add_argument("--node-rank", type=int, help="this machine's index (torchrun --node-rank)")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="rendezvous address every machine reaches (torchrun --rdzv-endpoint)")
    g.add_argument("--rdzv-id", help="a name of this run's rendezvous (torchrun --rdzv-id)")
    g.add_argument("--rdzv-backend", default="c10d", help="(torchrun; default %(default)s)")
    g.add_argument("--torchrun", action="store_true", help=argparse.SUPPRESS)  # set by the launcher


def wants_launch(args: argparse.Namespace) -> bool:
    return not args.torchrun and (args.nproc is not None or args.nnodes is not None)


def launch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run this training command under torchrun; returns when every rank has finished."""
    nproc = args.nproc or 1
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    torchrun = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}"]
    if args.nnodes is not None:
        torchrun.append(f"--nnodes={args.nnodes}")
        if args.rdzv_endpoint is None:
            raise ValueError("--nnodes needs --rdzv-endpoint HOST:PORT (where the machines meet)")
    if args.node_rank is not None:
        torchrun.append(f"--node-rank={args.node_rank}")
    if args.rdzv_endpoint is not None:
        torchrun += [f"--rdzv-endpoint={args.rdzv_endpoint}",
                     f"--rdzv-backend={args.rdzv_backend}"]
    else:
        torchrun.append("--standalone")  # one machine: a local rendezvous on a free port
    if args.rdzv_id is not None:
        torchrun.append(f"--rdzv-id={args.rdzv_id}")
    argv = rebuild_argv(parser, args)
    if args.threads is None and not str(args.device).startswith("cuda"):
        # CPU processes share this machine's cores
        argv += ["--threads", str(max(1, (os.cpu_count() or 1) // nproc))]
    command = [*torchrun, "-m", "model.cli_engine", "train", *argv, "--torchrun"]
    code = subprocess.run(command, check=False).returncode
    if code != 0:
        raise ValueError(f"a training process failed (torchrun exit status {code}; its "
                         "report is above); --resume the last checkpoint to continue")
    return 0


def rebuild_argv(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The command line that gives `args` again, without the launcher's own flags."""
    argv: list[str] = []
    for action in parser._actions:
        if action.dest in (*LAUNCH_FLAGS, "torchrun", "help") or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if not action.option_strings:  # positional
            argv.append(str(value))
        elif isinstance(action, argparse._StoreTrueAction):
            if value:
                argv.append(action.option_strings[0])
        elif value is not None and value != action.default:
            values = value if isinstance(value, (list, tuple)) else [value]
            argv += [action.option_strings[0], *map(str, values)]
    return argv
