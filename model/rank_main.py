"""A rank > 0 of a data-parallel run started by model/local_group.py:
`python -m model.rank_main JOB.json RANK PORT`.

It joins rank 0's store on 127.0.0.1:PORT, trains its shard of every batch with the job's
arguments, writes nothing (rank 0 saves the checkpoints) and exits 0 when the run is done. Any
error goes to stderr (rank 0 reads its last line into the job's error) with a non-zero status.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import traceback
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as torch_dist

from .config import SampleRNNConfig, TrainConfig
from .distributed import join, leave
from .local_group import RankJob
from .train import train


def main(argv: list[str]) -> int:
    spec, rank_text, port = argv
    job, rank = RankJob.load(Path(spec)), int(rank_text)
    faulthandler.enable()  # a native crash (SIGABRT, SIGSEGV) leaves its Python stack in the log
    logging.basicConfig(level=logging.WARNING, format=f"rank {rank} %(levelname)s %(message)s")
    if job.threads > 0:
        torch.set_num_threads(job.threads)
    store = torch_dist.TCPStore(  # type: ignore[attr-defined]  # not re-exported
        "127.0.0.1", int(port), job.world_size, is_master=False, timeout=timedelta(minutes=5)
    )
    store.set(f"albumbot/ready/{rank}", "1")
    ctx = join(rank, job.world_size, store, torch.device(job.devices[rank]))
    try:
        train(
            SampleRNNConfig.from_dict(job.model),
            TrainConfig.from_dict(job.train),
            Path(job.dataset_dir),
            Path(job.out_dir),
            resume=Path(job.resume) if job.resume else None,
            dist=ctx,
            until_epoch=job.until_epoch,
        )
    finally:
        leave(ctx)
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
        # The run is done and the group left: skip interpreter teardown, where the destructors
        # of torch's store client and gloo's threads can abort a process whose work is finished.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    except Exception as exc:  # noqa: BLE001 - the traceback, then the one line rank 0 reports
        traceback.print_exc()
        sys.stderr.write(f"{type(exc).__name__}: {' '.join(str(exc).split())}\n")
        sys.exit(1)
