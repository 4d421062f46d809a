"""GPU figures for the README: the paper preset's generation and training throughput.

Run on a CUDA machine from the repository root:  python3 benchmarks/gpu_figures.py [OUT.json]
Prints one JSON object per line and writes them all to OUT.json when given. It imports only
model/ (torch + numpy), so it runs in a bare PyTorch environment.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from model.bench import bench_generate, bench_train  # noqa: E402
from model.config import SampleRNNConfig, preset  # noqa: E402
from model.generate import generate  # noqa: E402
from model.samplernn import SampleRNN  # noqa: E402


def graph_matches_eager(cfg: SampleRNNConfig, device: str) -> dict:
    """The CUDA-graph path must produce exactly the samples of the eager path."""
    torch.manual_seed(0)
    model = SampleRNN(cfg).to(device).eval()
    a = generate(model, n=4, seconds=0.25, seed=11, device=device, cuda_graph=True)
    b = generate(model, n=4, seconds=0.25, seed=11, device=device, cuda_graph=False)
    return {"check": "cuda_graph_equals_eager", "equal": bool(np.array_equal(a, b)),
            "fraction_equal": float((a == b).mean()), "shape": list(a.shape)}


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    small = device == "cpu"  # a smoke run of this script on a CPU machine
    paper = preset("paper").model
    if small:
        paper = SampleRNNConfig(dim=64, n_rnn=2, cell="lstm", embed_size=16)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    results = [graph_matches_eager(paper, device)]
    s = 1 if small else 16
    runs = [
        ("generate", dict(batch=1, samples=2000 * s)),
        ("generate", dict(batch=1, samples=200 * s, cuda_graph=False)),
        ("generate", dict(batch=128, samples=1000 * s)),
        ("generate", dict(batch=16, samples=1000 * s)),
        ("train", dict(batch=128 if not small else 4, seq_len=1024, steps=10 if not small else 1)),
    ]
    for kind, kw in runs:
        t0 = time.perf_counter()
        if kind == "generate":
            r = bench_generate(paper, device=device, **kw)
        else:
            r = bench_train(paper, device=device, **kw)
        r["elapsed_s"] = round(time.perf_counter() - t0, 2)
        r.pop("config", None)
        results.append(r)
        print(json.dumps(r), flush=True)
    print(json.dumps(results[0]), flush=True)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
