"""`albumbot prepare`, run as a real process through the app.cli dispatcher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from model import synth

ROOT = Path(__file__).parents[2]


def albumbot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("albumbot prepare: error:")]


def write_album(folder: Path) -> None:
    folder.mkdir(parents=True)
    for i, f0 in enumerate((220.0, 330.0)):
        sf.write(folder / f"0{i + 1}.wav", synth.two_note_pattern(2.0, 22050, f0=f0, seed=i), 22050)


def test_help_explains_every_option_and_the_output():
    result = albumbot("prepare", "--help")
    assert result.returncode == 0
    for option in ("--out", "--chunks", "--sample-rate", "--seed", "--chunk-seconds",
                   "--silence-threshold", "--min-silence", "--overwrite", "manifest.json",
                   "chunks/000000.flac"):
        assert option in result.stdout


def test_prepare_writes_a_dataset_and_prints_one_summary_line(tmp_path):
    write_album(tmp_path / "album")
    out = tmp_path / "ds"
    result = albumbot("prepare", tmp_path / "album", "--out", out, "--chunks", "5",
                      "--chunk-seconds", "1", "--seed", "3", "--sample-rate", "32000")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["n_chunks"], manifest["seed"], manifest["sample_rate"]) == (5, 3, 32000)
    assert manifest["splits"] == {"train": 3, "valid": 1, "test": 1}
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "train 3, valid 1, test 1" in lines[0]
    assert "s of silence" in lines[0] and manifest["dataset_id"] in lines[0]
    assert len(list((out / "chunks").glob("*.flac"))) == 5


def test_bad_file_is_a_one_line_error_naming_it(tmp_path):
    write_album(tmp_path / "album")
    bad = tmp_path / "album" / "03.wav"
    sf.write(bad, np.zeros(8000, np.float32) + 0.1, 16000, subtype="PCM_16")
    bad.write_bytes(bad.read_bytes()[:5000])  # truncated: the header promises 8000 frames
    result = albumbot("prepare", tmp_path / "album", "--out", tmp_path / "ds", "--chunks", "3",
                      "--chunk-seconds", "1")
    assert result.returncode == 2
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and "03.wav" in errors[0] and "truncated" in errors[0]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album"]


def test_user_mistakes_exit_2_with_one_line(tmp_path):
    write_album(tmp_path / "album")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("x")
    (tmp_path / "nothing").mkdir()
    cases = {
        "--overwrite": ["prepare", tmp_path / "album", "--out", tmp_path / "ds"],
        "folder contains no audio": ["prepare", tmp_path / "nothing", "--out", tmp_path / "o"],
        "n_chunks must be >= 1": ["prepare", tmp_path / "album", "--out", tmp_path / "o",
                                  "--chunks", "0"],
        "must be at least 30 s": ["prepare", tmp_path / "album", "--out", tmp_path / "o",
                                  "--chunk-seconds", "30"],
    }
    for expected, argv in cases.items():
        result = albumbot(*argv)
        assert result.returncode == 2, (expected, result.stderr)
        errors = error_lines(result.stderr)
        assert len(errors) == 1 and expected in errors[0], (expected, result.stderr)
    assert not (tmp_path / "o").exists()
    assert albumbot("prepare", tmp_path / "album", "--out", "x", "--sample-rate", "44100").returncode == 2


def test_importing_the_command_loads_nothing_heavy():
    code = (
        "import sys, argparse, model.cli_prepare as c; "
        "c.register(argparse.ArgumentParser().add_subparsers()); "
        "heavy = {'numpy', 'soundfile', 'soxr', 'tqdm', 'torch'} & set(sys.modules); "
        "sys.exit(sorted(heavy) or 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
