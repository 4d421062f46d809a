"""Will the radio keep up? An estimate before any radio of the run has played.

A radio's own realtime factor is measured on air (app/radio/buffer.py); before the first radio of
a run, the best evidence of what the gpu workers can do with this shape is how fast they made
the run's end-of-epoch clips (`generation` in the run's metrics, worker/runners.py). Those were
`streams` clips at a time, and a radio is one stream, so the two figures bracket it:

- per stream (`clip seconds / wall`): what each of the batch's streams got. One stream alone goes
  at least this fast (batching only shares a step's cost), so >= 1 means it keeps up.
- in all (`streams x clip seconds / wall`): the batch's throughput. One stream is not faster than
  a whole batch on the same hardware, so < 1 means it cannot keep up.

Both include model loading, peaks and catalog rows, so they understate the sampler a little: the
estimate errs towards warning. Between the two bounds, the answer is "may not keep up".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["keeps-up", "may-not", "cannot"]


@dataclass(frozen=True)
class SpeedEstimate:
    epoch: int  # whose clips it was measured on
    per_stream_rtf: float
    total_rtf: float
    streams: int

    @property
    def verdict(self) -> Verdict:
        if self.per_stream_rtf >= 1:
            return "keeps-up"
        return "may-not" if self.total_rtf >= 1 else "cannot"


def estimate_from_clips(metrics: Sequence[dict[str, Any]]) -> SpeedEstimate | None:
    """From the latest epoch whose clips were timed; None when none was."""
    for entry in reversed(metrics):
        gen = entry.get("generation")
        if not gen or gen.get("wall_s", 0) <= 0 or gen.get("streams", 0) < 1:
            continue
        streams = int(gen["streams"])
        total = float(gen["audio_s"]) / float(gen["wall_s"])
        return SpeedEstimate(int(entry["epoch"]), total / streams, total, streams)
    return None
