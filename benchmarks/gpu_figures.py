"""GPU figures for the README: the paper preset's generation and training throughput, the fused
Triton sample-level step, batched clips, and data-parallel scaling. One prepared script.

Run on a CUDA machine from the repository root (it imports only model/: torch + numpy, and
Triton, which CUDA wheels of torch bring):

    python3 benchmarks/gpu_figures.py [OUT.json]            # ~3-6 minutes on one H200
    python3 benchmarks/gpu_figures.py --smoke [OUT.json]    # tiny shapes on CPU, ~1-2 minutes

It prints one JSON object per line (and writes them all to OUT.json when given), ending with a
`targets` line that compares them with issue 11's targets: paper preset single stream >= 4x real
time (aim 8x), batch 128 >= 150x real time in total, and the DDP scaling efficiency when there
is more than one GPU. Everything that runs the fused kernel runs in a child process with a
timeout: a kernel that hangs (its grid barrier needs all its programs resident at once) is
reported as such, and the other figures still come. `--smoke` runs the same code on CPU with
tiny shapes (the fused kernel under TRITON_INTERPRET=1, DDP over 2 gloo ranks); its numbers
mean nothing, it only proves the script runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from model.bench import bench_clips, bench_generate, bench_train  # noqa: E402
from model.config import SampleRNNConfig, preset  # noqa: E402
from model.generate import generate  # noqa: E402
from model.samplernn import SampleRNN  # noqa: E402
from model.streams import stream_seed  # noqa: E402

FUSED_TIMEOUT_S = 600
REALTIME = 16000


def shape(smoke: bool) -> SampleRNNConfig:
    if smoke:
        return SampleRNNConfig(dim=64, n_rnn=2, cell="lstm", embed_size=16, q_levels=64)
    return preset("paper").model


def emit(results: list[dict], record: dict) -> None:
    record.pop("config", None)
    results.append(record)
    print(json.dumps(record), flush=True)


def sample_checks(cfg: SampleRNNConfig, device: str, fused: bool, seconds: float) -> list[dict]:
    """Same samples with and without the CUDA graph (or the fused kernel), and clip i the same
    for k = 1 and k = 8."""
    torch.manual_seed(0)
    model = SampleRNN(cfg).to(device).eval()
    seeds = [stream_seed(11, i) for i in range(8)]
    out = []
    reference = generate(model, seeds=seeds[:4], seconds=seconds, device=device, cuda_graph=False)
    tested = generate(model, seeds=seeds[:4], seconds=seconds, device=device, fused=fused)
    name = "fused_equals_eager" if fused else "cuda_graph_equals_eager"
    out.append({"check": name, "equal": bool(np.array_equal(reference, tested)),
                "fraction_equal": float((reference == tested).mean()),
                "first_difference": _first_difference(reference, tested),
                "shape": list(reference.shape)})
    eight = generate(model, seeds=seeds, seconds=seconds, device=device, fused=fused)
    one = generate(model, seeds=seeds[5:6], seconds=seconds, device=device, fused=fused)
    out.append({"check": "clip_same_whatever_k" + ("_fused" if fused else ""), "k": [1, 8],
                "equal": bool(np.array_equal(one[0], eight[5])),
                "fraction_equal": float((one[0] == eight[5]).mean()),
                "first_difference": _first_difference(one[:1], eight[5:6])})
    return out


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    """The first sample index where any stream differs (None: identical)."""
    cols = np.flatnonzero((a != b).any(axis=0))
    return int(cols[0]) if cols.size else None


def fused_part(smoke: bool) -> None:
    """Child process: everything that launches the fused kernel, one JSON line each."""
    device = "cpu" if smoke else "cuda"
    cfg, results = shape(smoke), []
    seconds = 32 / REALTIME if smoke else 0.25
    for record in sample_checks(cfg, device, True, seconds):
        emit(results, record)
    s = 1 if smoke else 16
    for batch, samples in ((1, 32 * s if smoke else 2000 * s), (128 if not smoke else 2, 32 * s)):
        t0 = time.perf_counter()
        r = bench_generate(cfg, batch=batch, samples=samples, device=device, fused=True)
        r["elapsed_s"] = round(time.perf_counter() - t0, 2)
        emit(results, r)


def run_fused_part(smoke: bool, results: list[dict]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if smoke:
        env["TRITON_INTERPRET"] = "1"
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--fused-part", *(["--smoke"] if smoke else [])],
            env=env, capture_output=True, text=True, timeout=FUSED_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        emit(results, {"check": "fused", "error": f"timed out after {FUSED_TIMEOUT_S} s (a "
                       "grid barrier that never opened?)", "partial": str(exc.stdout)[-2000:]})
        return
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            emit(results, json.loads(line))
    if out.returncode != 0:
        emit(results, {"check": "fused", "error": out.stderr[-3000:]})


def _ddp_rank(rank: int, world: int, store_path: str, out_path: str, smoke: bool) -> None:
    from model.distributed import join, leave

    store = torch.distributed.FileStore(store_path, world)
    device = torch.device("cpu") if smoke else torch.device("cuda", rank)
    ctx = join(rank, world, store, device)
    try:
        r = bench_train(shape(smoke), batch=4 if smoke else 128, seq_len=1024,
                        steps=1 if smoke else 10, threads=1 if smoke else None, dist=ctx)
        if ctx.is_main:
            Path(out_path).write_text(json.dumps(r))
    finally:
        leave(ctx)


def ddp_scaling(smoke: bool, single: dict, results: list[dict]) -> float | None:
    """Weak scaling: the same per-GPU batch on every GPU against one GPU alone."""
    world = 2 if smoke else torch.cuda.device_count()
    if world < 2:
        emit(results, {"check": "ddp_scaling", "skipped": f"{world} GPU here"})
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rank0.json"
        torch.multiprocessing.spawn(_ddp_rank, args=(world, str(Path(tmp) / "store"), str(out),
                                                     smoke), nprocs=world)
        r = json.loads(out.read_text())
    efficiency = r["samples_per_s_total"] / (world * single["samples_per_s_total"])
    r["scaling_efficiency"] = round(efficiency, 3)
    emit(results, r)
    return efficiency


def main(argv: list[str]) -> None:
    smoke = "--smoke" in argv
    if "--fused-part" in argv:
        fused_part(smoke)
        return
    paths = [a for a in argv if not a.startswith("--")]
    if not torch.cuda.is_available() and not smoke:
        print(json.dumps({"note": "no CUDA device here: running the --smoke version"}))
        smoke = True
    device = "cpu" if smoke else "cuda"
    cfg, results = shape(smoke), []
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    for record in sample_checks(cfg, device, False, 32 / REALTIME if smoke else 0.25):
        emit(results, record)
    s = 1 if smoke else 16
    figures = {}
    runs = [
        ("b1_graph", "generate", dict(batch=1, samples=2000 * s)),
        ("b1_eager", "generate", dict(batch=1, samples=200 * s, cuda_graph=False)),
        ("b16_graph", "generate", dict(batch=16, samples=1000 * s)),
        ("b128_graph", "generate", dict(batch=128 if not smoke else 4, samples=1000 * s)),
        ("clips8", "clips", dict(clips=8, seconds=2.0 if not smoke else 0.05)),
        ("clips128", "clips", dict(clips=128 if not smoke else 4,
                                   seconds=1.0 if not smoke else 0.05)),
        ("train", "train", dict(batch=128 if not smoke else 4, seq_len=1024,
                                steps=10 if not smoke else 1)),
    ]
    bench = {"generate": bench_generate, "clips": bench_clips, "train": bench_train}
    for name, kind, kw in runs:
        t0 = time.perf_counter()
        r = bench[kind](cfg, device=device, **kw)
        r["elapsed_s"] = round(time.perf_counter() - t0, 2)
        figures[name] = r
        emit(results, r)
    run_fused_part(smoke, results)
    efficiency = ddp_scaling(smoke, figures["train"], results)
    fused = {r["batch"]: r for r in results if r.get("benchmark") == "generate" and r.get("fused")}
    single = max([figures["b1_graph"]["realtime_factor"]]
                 + [fused[1]["realtime_factor"]] * (1 in fused))
    total128 = max([figures["b128_graph"]["realtime_factor_total"]]
                   + [r["realtime_factor_total"] for b, r in fused.items() if b > 1])
    emit(results, {
        "check": "targets", "smoke": smoke,
        "single_stream_realtime": single, "target_4x": single >= 4, "aim_8x": single >= 8,
        "batch128_realtime_total": total128, "target_150x": total128 >= 150,
        "clips8_speedup_vs_one_by_one": figures["clips8"]["speedup_vs_one_by_one"],
        "ddp_scaling_efficiency": None if efficiency is None else round(efficiency, 3),
    })
    if paths:
        Path(paths[0]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
