"""`albumbot train`, `albumbot generate` and `albumbot bench` as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from model.checkpoint import load_checkpoint

ROOT = Path(__file__).parents[2]
SMALL = ["--dim", "32", "--layers", "1", "--embed-size", "8", "--mlp-layers", "1",
         "--batch-size", "8", "--seq-len", "256", "--max-segments", "2", "--threads", "1"]


def albumbot(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_help_teaches_every_option():
    for command, options in {
        "train": ["--out", "--preset", "--resume", "--epochs", "--device", "--seq-len", "--cell", "--frame-sizes",
                  "--nproc", "--nnodes", "--node-rank", "--rdzv-endpoint"],
        "generate": ["--out", "-n", "--seconds", "--temperature", "--seed", "--format", "--prime", "Examples"],
        "bench": ["--cell", "--dim", "--layers", "--frame-size", "--batch", "--samples", "--steps",
                  "--seq-len", "--threads", "--device", "--json"],
    }.items():
        result = albumbot(command, "--help")
        assert result.returncode == 0
        for option in options:
            assert option in result.stdout, (command, option)


def test_train_resume_and_generate(pattern_dataset, tmp_path):
    run = tmp_path / "run"
    first = albumbot("train", pattern_dataset, "--out", run, "--epochs", "1", *SMALL)
    assert first.returncode == 0, first.stderr
    assert "epoch 1: train" in first.stderr and "test NLL" in first.stdout
    resumed = albumbot("train", pattern_dataset, "--out", run, "--resume", run / "epoch-0001.pt", "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr
    ckpt = load_checkpoint(run / "epoch-0002.pt")
    assert ckpt.epoch == 2 and [h["epoch"] for h in ckpt.history] == [1, 2]
    assert ckpt.model_config.dim == 32  # the checkpoint's config, not the preset's

    out = tmp_path / "clips"
    gen = albumbot("generate", run / "epoch-0002.pt", "--out", out, "-n", "3", "--batch", "2",
                   "--seconds", "0.25", "--format", "flac", "--seed", "4")
    assert gen.returncode == 0, gen.stderr
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"clip-4-00{i}.flac" for i in range(3)]
    for f in files:
        info = sf.info(f)
        assert info.samplerate == 16000 and info.frames == 4000


def test_mistakes_are_one_line_errors(pattern_dataset, tmp_path):
    missing = albumbot("generate", tmp_path / "nope.pt", "--out", tmp_path / "c")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"albumbot generate: error: checkpoint not found: {tmp_path / 'nope.pt'}"]
    bad_rate = albumbot("train", pattern_dataset, "--out", tmp_path / "r", *SMALL, "--sample-rate", "32000")
    assert bad_rate.returncode == 2 and "16000 Hz" in bad_rate.stderr
    assert not (tmp_path / "r").exists()


def test_bench_prints_one_json_object():
    gen = albumbot("bench", "generate", "--dim", "32", "--layers", "1", "--samples", "800", "--json")
    assert gen.returncode == 0, gen.stderr
    result = json.loads(gen.stdout)
    for key in ("samples_per_s_total", "samples_per_s_per_stream", "realtime_factor", "device", "config"):
        assert key in result
    assert result["config"]["dim"] == 32 and result["device"] == "cpu"
    assert result["samples_per_s_total"] > 0
    train = albumbot("bench", "train", "--dim", "32", "--layers", "1", "--batch", "2", "--seq-len", "256", "--steps", "2", "--json")
    assert train.returncode == 0, train.stderr
    assert json.loads(train.stdout)["benchmark"] == "train"


def test_bench_clips_times_k_clips_against_one_and_int8_runs():
    """k clips of one model as one batch against one clip alone (the JSON says how much faster,
    and that clip 0 came out the same both times); int8 weights report themselves."""
    clips = albumbot("bench", "clips", "--dim", "32", "--layers", "1", "--clips", "4",
                     "--seconds", "0.1", "--json")
    assert clips.returncode == 0, clips.stderr
    r = json.loads(clips.stdout)
    assert r["benchmark"] == "clips" and r["clips"] == 4 and r["clip0_identical"] is True
    assert r["k_clips_s"] > 0 and r["one_clip_s"] > 0 and "load_avg" in r
    int8 = albumbot("bench", "generate", "--dim", "64", "--layers", "1", "--samples", "320",
                    "--weights", "int8", "--json")
    assert int8.returncode == 0, int8.stderr
    assert json.loads(int8.stdout)["weights"] == "int8"
    bad = albumbot("bench", "clips", "--clips", "0", "--json")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


@pytest.mark.slow
def test_train_data_parallel_under_torchrun(pattern_dataset, tmp_path):
    """`--nproc 2 --device cpu`: two gloo ranks under torchrun; rank 0 alone prints and writes,
    the checkpoint records the world size, and a 1-process --resume continues it."""
    run = tmp_path / "run"
    two = albumbot("train", pattern_dataset, "--out", run, "--epochs", "1", *SMALL[:-2],
                   "--nproc", "2", "--device", "cpu")
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("test NLL") == 1
    assert "2 ranks" in two.stdout and two.stderr.count("epoch 1: train") == 1
    assert sorted(p.name for p in run.iterdir()) == ["epoch-0001.pt"]
    assert [h["world_size"] for h in load_checkpoint(run / "epoch-0001.pt").history] == [2]
    one = albumbot("train", pattern_dataset, "--out", run, "--resume", run / "epoch-0001.pt",
                   "--epochs", "2")
    assert one.returncode == 0, one.stderr
    assert [h["world_size"] for h in load_checkpoint(run / "epoch-0002.pt").history] == [2, 1]
    bad = albumbot("train", pattern_dataset, "--out", run, "--nnodes", "2", *SMALL)
    assert bad.returncode == 2 and "--rdzv-endpoint" in bad.stderr
