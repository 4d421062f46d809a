"""`albumbot analyze FILES --against DATASET_DIR --json`: per file flags, closeness, style
distance, quality; the set's style distance; one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from app.cli import main
from model.closeness import INDEX_NAME
from model.synth import through_composed
from tests.model import signals as s


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    album = tmp_path / "album"
    album.mkdir()
    tracks = [through_composed(30.0, s.SR, 100 + i) for i in range(2)]
    for i, t in enumerate(tracks):
        sf.write(album / f"0{i + 1} Track.wav", t, s.SR)
    out = {"album": album}
    for name, x in {
        "copy": s.with_noise(tracks[1][round(7.25 * s.SR) : round(15.25 * s.SR)], 20.0),
        "loop": s.looped(), "noise": s.white_noise(), "music": s.music(6.0, seed=5),
    }.items():
        out[name] = tmp_path / f"{name}.flac"
        sf.write(out[name], x, s.SR)
    out["bad"] = tmp_path / "bad.wav"
    out["bad"].write_bytes(b"RIFF but not really")
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_analyse_against_a_prepared_dataset_as_json(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = tmp_path / "ds"
    assert main(["prepare", str(files["album"]), "--out", str(ds), "--chunks", "16"]) == 0
    capsys.readouterr()
    names = ["copy", "loop", "noise", "music"]
    code, out, err = run(["analyze", *(str(files[n]) for n in names), "--against", str(ds), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["album"] == {"against": str(ds), "tracks": 2, "seconds": 60.0}
    by_name = {Path(f["file"]).stem: f for f in report["files"]}
    assert [f["name"] for f in by_name["copy"]["flags"]] == ["copied"]
    c = by_name["copy"]["closeness"]
    assert c["source_name"] == "02 Track.wav" and c["source_file"].endswith("02 Track.wav")
    assert c["source_offset_s"] - c["clip_offset_s"] == pytest.approx(7.25, abs=0.1)
    assert c["copied"] and c["longest_run_s"] > 7 and c["seconds_matched"] > 7
    loop = by_name["loop"]["flags"]
    assert [f["name"] for f in loop] == ["loop"] and loop[0]["details"]["period_s"] == pytest.approx(0.5, abs=0.01)
    assert [f["name"] for f in by_name["noise"]["flags"]] == ["noise"]
    assert by_name["music"]["flags"] == [] and by_name["music"]["closeness"]["copied"] is False
    assert all(0 <= f["quality"] <= 1 and f["style_distance"] > 0 for f in report["files"])
    assert by_name["music"]["quality"] > max(by_name[n]["quality"] for n in ("copy", "loop", "noise"))
    assert report["style_distance"] > 0
    assert (ds / INDEX_NAME).is_file()  # cached beside the dataset's chunks: the next run reuses it
    code, out, _ = run(["analyze", str(files["music"]), "--against", str(ds)], capsys)
    assert code == 0 and "flags: none" in out and "follows no stretch of the album" in out


def test_without_an_album_flags_only(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["analyze", str(files["loop"]), "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["album"] is None and report["style_distance"] is None
    assert report["files"][0]["closeness"] is None
    assert report["files"][0]["flags"][0]["reason"] == "repeats a 0.50 s segment from 3.0 s to the end"


def test_an_album_folder_works_as_against(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["analyze", str(files["copy"]), "--against", str(files["album"]), "--json"], capsys)
    assert code == 0 and json.loads(out)["files"][0]["closeness"]["copied"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyze", "{bad}"], "bad.wav: not a readable audio file"),
        (["analyze", "{tmp}/missing.wav"], "missing.wav: no such file"),
        (["analyze", "{copy}", "--against", "{tmp}/nowhere"], "nowhere: no such dataset or folder"),
        (["analyze", "{copy}", "--against", "{tmp}"], "neither a dataset"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    values = {"bad": files["bad"], "tmp": empty, "copy": files["copy"]}
    code, _, err = run([a.format(**values) for a in argv], capsys)
    lines = [line for line in err.splitlines() if line.startswith("albumbot")]
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    assert "--against data/album-16k --json" in capsys.readouterr().out
