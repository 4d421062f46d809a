"""Who used the CPUs while the curators worked: each studio process (with its pool children),
this client, and the whole machine, from /proc (Linux). On a shared machine this tells a slow
answer that waited for a core from one that had work to do: if the web app used a fraction of
one core while its tail latency was long, the time went to waiting for the scheduler."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

from tests.worker.harness import children_of

TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live children (the worker pool)."""
    total = 0.0
    for p in (pid, *children_of(pid)):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idle and iowait since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


def own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuMeter:
    """Start it, then `shares()`: CPU used per named process, as cores (1.0 = one busy core)."""

    pids: dict[str, int]

    def start(self) -> CpuMeter:
        self.t0 = time.monotonic()
        self.before = {name: process_seconds(pid) for name, pid in self.pids.items()}
        self.own0, self.machine0 = own_seconds(), machine_busy_seconds()
        return self

    def shares(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        out = {name: (process_seconds(pid) - self.before[name]) / wall
               for name, pid in self.pids.items()}
        out["load_client"] = (own_seconds() - self.own0) / wall
        out["whole_machine"] = (machine_busy_seconds() - self.machine0) / wall
        out["everything_else"] = out["whole_machine"] - sum(
            v for k, v in out.items() if k != "whole_machine")
        return {k: round(v, 2) for k, v in out.items()} | {"cores": os.cpu_count() or 0}
