"""The two Celery queues, named once.

`gpu`: training and clip generation, one worker process per GPU (concurrency 1). `cpu`: titles,
covers, exports and other work that must never wait behind a training run.
"""

from __future__ import annotations

from typing import Final, Literal

Queue = Literal["gpu", "cpu"]
GPU: Final[Queue] = "gpu"
CPU: Final[Queue] = "cpu"
QUEUES: Final[tuple[Queue, ...]] = (GPU, CPU)
