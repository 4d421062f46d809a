"""Dataset preparation (model/dataset.py, model/chunking.py, model/manifest.py): chunking, splits,
manifest, and failure without residue.

Albums are synthesized into tmp_path/src; every failure test checks that tmp_path holds nothing
else afterwards (no output directory, no temporary sibling).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model import chunking, dataset, synth
from model.audio import AudioError, find_audio_files
from model.dataset import DatasetConfig, DatasetError, prepare_dataset
from model.manifest import Manifest, load_manifest, load_split
from tests.model.test_audio import MALFORMED, dominant_hz, make_malformed, sine

SR = 16000


def noise(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(round(seconds * sr))).astype(np.float32)


def write(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, subtype=subtype)
    return path


def cfg(**changes) -> DatasetConfig:
    base = {"n_chunks": 7, "chunk_seconds": 1.0}
    return DatasetConfig(**{**base, **changes})


def only_src_left(tmp_path: Path) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


@pytest.fixture
def album(tmp_path) -> tuple[Path, np.ndarray]:
    """Two 16-bit noise tracks at 16 kHz (3 s and 2 s); returns the folder and the expected album."""
    a = write(tmp_path / "src" / "01 a.wav", noise(3.0, 1))
    b = write(tmp_path / "src" / "02 b.wav", noise(2.0, 2))
    # What the pipeline should produce: the 16-bit samples, each file minus its own mean.
    tracks = [sf.read(p, dtype="float32")[0] for p in (a, b)]
    return tmp_path / "src", np.concatenate([t - t.mean(dtype=np.float64) for t in tracks])


def test_chunk_starts_spread_evenly():
    np.testing.assert_array_equal(chunking.chunk_starts(100, 10, 4), [0, 30, 60, 90])
    np.testing.assert_array_equal(chunking.chunk_starts(100, 10, 1), [0])
    np.testing.assert_array_equal(chunking.chunk_starts(10, 10, 3), [0, 0, 0])
    assert chunking.chunk_starts(101, 10, 3).tolist() == [0, round(45.5), 91]
    with pytest.raises(ValueError):
        chunking.chunk_starts(9, 10, 3)


@pytest.mark.parametrize(
    ("n", "sizes"),
    [(3200, (2816, 192, 192)), (100, (88, 6, 6)), (10, (8, 1, 1)), (3, (1, 1, 1)), (2, (2, 0, 0)),
     (1, (1, 0, 0))],
)
def test_split_sizes(n, sizes):
    assert chunking.split_sizes(n, (0.88, 0.06, 0.06)) == sizes
    assert sum(chunking.split_sizes(n, (0.2, 0.4, 0.4))) == n
    assert chunking.split_sizes(n, (0.2, 0.4, 0.4))[0] >= 1


@pytest.mark.parametrize(
    "changes",
    [{"sample_rate": 22050}, {"n_chunks": 0}, {"chunk_seconds": 0}, {"split": (0.5, 0.5, 0.5)},
     {"split": (0.0, 0.5, 0.5)}, {"silence_threshold_dbfs": 3}, {"min_silence_seconds": 0}],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(ValueError):
        DatasetConfig(**changes)


def test_paper_defaults():
    c = DatasetConfig()
    assert (c.sample_rate, c.n_chunks, c.chunk_seconds, c.chunk_samples) == (16000, 3200, 8.0, 128000)
    assert c.split == (0.88, 0.06, 0.06)


def test_prepare_cuts_evenly_spread_overlapping_chunks(tmp_path, album):
    src, expected = album
    out = tmp_path / "ds"
    progress: list[tuple[str, float]] = []
    m = prepare_dataset([src], out, config=cfg(), on_progress=lambda s, f: progress.append((s, f)))

    assert m.n_chunks == 7 and len(m.chunks) == 7 and m.chunk_samples == SR
    assert m.splits == {"train": 5, "valid": 1, "test": 1}
    assert [c.split for c in m.chunks] == ["train"] * 5 + ["valid", "test"]
    assert m.silence.seconds_removed == 0 and m.silence.seconds_before == pytest.approx(5.0)
    # Chunk i of the album starts at round(i * (L - C) / (N - 1)): 4 s of stride over 6 gaps.
    starts = sorted(round(c.album_offset_s * SR) for c in m.chunks)
    assert starts == [round(i * (5 * SR - SR) / 6) for i in range(7)]
    assert all(b - a < SR for a, b in zip(starts, starts[1:], strict=False))  # neighbours overlap
    # Each chunk holds exactly that slice of the album (to 16-bit precision).
    for c in m.chunks:
        x, sr = sf.read(out / c.file, dtype="float32")
        assert sr == SR and x.shape == (SR,)
        start = round(c.album_offset_s * SR)
        np.testing.assert_allclose(x, np.clip(expected[start : start + SR], -1, 1), atol=1e-4)
        assert c.sha256 == hashlib.sha256((out / c.file).read_bytes()).hexdigest()
        assert c.file == f"chunks/{c.index:06d}.flac"
        # The source is the file where the chunk starts; the offset is relative to it.
        in_b = c.album_offset_s >= 3.0
        assert c.source == ("02 b.wav" if in_b else "01 a.wav")
        assert c.source_offset_s == pytest.approx(c.album_offset_s - 3.0 * in_b, abs=2e-6)
    assert [s.name for s in m.sources] == ["01 a.wav", "02 b.wav"]
    assert (m.sources[0].format, m.sources[0].sample_rate, m.sources[0].channels) == ("WAV", SR, 1)
    assert m.sources[0].seconds == pytest.approx(3.0)

    stages = [s for s, _ in progress]
    assert stages[0] == "decode" and stages[-1] == "write" and "silence" in stages
    assert all(0.0 <= f <= 1.0 for _, f in progress) and progress[-1][1] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "src"]  # no temp dir left


def test_manifest_round_trip_and_schema(tmp_path, album):
    src, _ = album
    m = prepare_dataset([src], tmp_path / "ds", config=cfg())
    assert load_manifest(tmp_path / "ds") == m
    raw = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert list(raw) == [
        "format_version", "dataset_id", "sample_rate", "chunk_seconds", "chunk_samples",
        "n_chunks", "seed", "split_fractions", "splits", "silence", "sources", "chunks",
    ]
    assert raw["format_version"] == 1 and len(raw["dataset_id"]) == 16
    assert set(raw["silence"]) == {
        "threshold_dbfs", "min_seconds", "seconds_before", "seconds_after", "seconds_removed"
    }
    assert set(raw["sources"][0]) == {"path", "name", "format", "sample_rate", "channels", "seconds"}
    assert set(raw["chunks"][0]) == {
        "index", "file", "split", "source", "source_offset_s", "album_offset_s", "sha256"
    }
    raw["format_version"] = 2
    (tmp_path / "future.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="format_version 2"):
        Manifest.load(tmp_path / "future.json")
    with pytest.raises(FileNotFoundError):
        load_manifest(tmp_path / "src")


def test_load_split_returns_chunks_in_manifest_order(tmp_path, album):
    src, _ = album
    m = prepare_dataset([src], tmp_path / "ds", config=cfg())
    train = load_split(tmp_path / "ds", "train")
    assert train.dtype == np.float32 and train.shape == (5, SR)
    first = sf.read(tmp_path / "ds" / m.chunks_in("train")[0].file, dtype="float32")[0]
    np.testing.assert_array_equal(train[0], first)
    assert load_split(tmp_path / "ds", "test").shape == (1, SR)
    with pytest.raises(ValueError, match="unknown split"):
        load_split(tmp_path / "ds", "dev")


def test_shuffle_is_determined_by_the_seed(tmp_path, album):
    src, _ = album
    a = prepare_dataset([src], tmp_path / "a", config=cfg(n_chunks=12))
    b = prepare_dataset([src], tmp_path / "b", config=cfg(n_chunks=12))
    c = prepare_dataset([src], tmp_path / "c", config=cfg(n_chunks=12, seed=1))
    assert a.dataset_id == b.dataset_id and a.chunks == b.chunks
    offsets = [ch.album_offset_s for ch in a.chunks]
    assert offsets != sorted(offsets)  # shuffled
    assert offsets != [ch.album_offset_s for ch in c.chunks]
    assert sorted(offsets) == sorted(ch.album_offset_s for ch in c.chunks)
    assert a.dataset_id != c.dataset_id


def test_silence_is_removed_and_reported(tmp_path):
    x = np.concatenate([noise(2.0, 1), np.zeros(3 * SR, np.float32), noise(1.5, 2)])
    write(tmp_path / "src" / "gap.wav", x)
    pause = np.concatenate([noise(1.0, 3), np.zeros(SR // 4, np.float32), noise(1.0, 4)])
    write(tmp_path / "src" / "pause.wav", pause)  # 0.25 s: shorter than min_silence, stays
    m = prepare_dataset([tmp_path / "src"], tmp_path / "ds", config=cfg())
    assert m.silence.seconds_before == pytest.approx(8.75)
    assert m.silence.seconds_removed == pytest.approx(2.9, abs=0.05)  # 3 s less 50 ms margins
    assert m.silence.seconds_after == pytest.approx(8.75 - m.silence.seconds_removed)
    assert (m.silence.threshold_dbfs, m.silence.min_seconds) == (-50.0, 0.5)
    late = [c for c in m.chunks if c.source == "pause.wav"]
    assert late and all(c.source_offset_s >= 0 for c in late)


def test_resamples_44k_stereo_to_16k_mono_keeping_pitch(tmp_path):
    stereo = np.stack([sine(3.0, 44100, 1000.0), sine(3.0, 44100, 1000.0, amp=0.3)], axis=1)
    write(tmp_path / "src" / "hi.wav", stereo, 44100)
    m = prepare_dataset([tmp_path / "src"], tmp_path / "ds", config=cfg(n_chunks=3))
    assert (m.sources[0].sample_rate, m.sources[0].channels) == (44100, 2)
    assert m.silence.seconds_before == pytest.approx(3.0, abs=1e-3)
    x, sr = sf.read(tmp_path / "ds" / m.chunks[0].file, dtype="float32")
    assert sr == SR and x.ndim == 1 and len(x) == SR
    assert dominant_hz(x, SR) == pytest.approx(1000.0, abs=2.0)
    assert np.abs(x).max() == pytest.approx(0.4, abs=0.01)  # mean of the two channels


def test_dc_offset_is_removed_and_overs_are_clipped(tmp_path):
    write(tmp_path / "src" / "dc.wav", sine(3.0, SR) + 0.3, subtype="FLOAT")
    write(tmp_path / "src" / "hot.wav", sine(3.0, SR, amp=1.5), subtype="FLOAT")
    m = prepare_dataset([tmp_path / "src"], tmp_path / "ds", config=cfg(n_chunks=5))
    for c in m.chunks:
        x = sf.read(tmp_path / "ds" / c.file, dtype="float32")[0]
        if c.source == "dc.wav" and c.source_offset_s <= 2.0:
            assert abs(x.mean()) < 1e-3
        assert np.abs(x).max() <= 1.0


def test_32k_output(tmp_path, album):
    src, _ = album
    m = prepare_dataset([src], tmp_path / "ds", config=cfg(sample_rate=32000, n_chunks=3))
    assert m.sample_rate == 32000 and m.chunk_samples == 32000
    assert load_split(tmp_path / "ds", "train").shape == (1, 32000)


def test_folder_order_hidden_files_and_explicit_files(tmp_path):
    write(tmp_path / "src" / "b.wav", noise(1.0, 1))
    write(tmp_path / "src" / "a" / "c.flac", noise(1.0, 2))
    write(tmp_path / "src" / "a.wav", noise(1.0, 3))
    (tmp_path / "src" / "._a.wav").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS metadata
    (tmp_path / "src" / "notes.txt").write_text("liner notes")
    found = find_audio_files([tmp_path / "src", tmp_path / "src" / "b.wav"])
    assert [p.relative_to(tmp_path / "src").as_posix() for p in found] == ["a/c.flac", "a.wav", "b.wav"]
    with pytest.raises(ValueError, match="no audio files or folders given"):
        find_audio_files([])


def test_output_inside_the_album_folder_is_not_read_back(tmp_path, album):
    src, _ = album
    first = prepare_dataset([src], src / "ds", config=cfg())
    again = prepare_dataset([src], src / "ds", config=cfg(), overwrite=True)
    assert [s.name for s in again.sources] == ["01 a.wav", "02 b.wav"]
    assert again.dataset_id == first.dataset_id


def test_existing_output_is_refused_unless_overwrite(tmp_path, album):
    src, _ = album
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="already exists"):
        prepare_dataset([src], out, config=cfg())
    assert (out / "old.txt").exists()
    m = prepare_dataset([src], out, config=cfg(), overwrite=True)
    assert not (out / "old.txt").exists() and load_manifest(out) == m
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "src"]


def test_empty_existing_output_dir_is_fine(tmp_path, album):
    src, _ = album
    (tmp_path / "ds").mkdir()
    prepare_dataset([src], tmp_path / "ds", config=cfg())
    assert (tmp_path / "ds" / "manifest.json").is_file()


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_source_fails_naming_it_and_leaves_nothing(tmp_path, monkeypatch, album, kind):
    src, _ = album
    bad = make_malformed(kind, src, monkeypatch)
    with pytest.raises(AudioError) as err:
        prepare_dataset([src], tmp_path / "ds", config=cfg())
    assert bad.name in str(err.value) and MALFORMED[kind][1] in str(err.value)
    only_src_left(tmp_path)


def test_album_shorter_than_a_chunk_after_silence_removal(tmp_path):
    x = np.concatenate([noise(0.6, 1), np.zeros(2 * SR, np.float32), noise(0.6, 2)])
    write(tmp_path / "src" / "short.wav", x)
    with pytest.raises(DatasetError, match=r"album is 1\.\d\d s long .* at least 2 s"):
        prepare_dataset([tmp_path / "src"], tmp_path / "ds", config=cfg(chunk_seconds=2.0))
    only_src_left(tmp_path)


def test_folder_without_audio_is_named(tmp_path):
    (tmp_path / "src" / "empty").mkdir(parents=True)
    (tmp_path / "src" / "empty" / "cover.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(AudioError, match=r"empty: folder contains no audio"):
        prepare_dataset([tmp_path / "src" / "empty"], tmp_path / "ds", config=cfg())
    with pytest.raises(FileNotFoundError, match="missing.flac"):
        prepare_dataset([tmp_path / "src" / "missing.flac"], tmp_path / "ds", config=cfg())
    only_src_left(tmp_path)


def test_output_where_no_directory_can_be_made(tmp_path, album):
    src, _ = album
    with pytest.raises(DatasetError, match="cannot create the dataset there"):
        prepare_dataset([src], src / "01 a.wav" / "ds", config=cfg())
    only_src_left(tmp_path)


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, album):
    src, _ = album
    calls = []
    real_write = sf.write

    def flaky_write(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise OSError("disk full")
        real_write(*args, **kwargs)

    monkeypatch.setattr(dataset.sf, "write", flaky_write)
    with pytest.raises(OSError, match="disk full"):
        prepare_dataset([src], tmp_path / "ds", config=cfg())
    only_src_left(tmp_path)


def test_demo_album_prepares(tmp_path):
    paths = synth.write_album(tmp_path / "src", seconds_per_track=4.0, n_tracks=2, sr=22050)
    assert [p.name for p in paths] == [p.name for p in sorted(paths)]
    m = prepare_dataset([tmp_path / "src"], tmp_path / "ds", config=cfg(n_chunks=4))
    assert m.silence.seconds_removed > 2.5  # each demo track ends in about 1.5 s of silence
    assert len(m.sources) == 2 and m.sources[0].channels == 2


def test_two_note_pattern_has_f0_as_dominant_peak():
    x = synth.two_note_pattern(2.0, SR, f0=220.0)
    assert x.dtype == np.float32 and x.shape == (2 * SR,)
    assert dominant_hz(x, SR) == pytest.approx(220.0, abs=1.0)
    np.testing.assert_array_equal(x, synth.two_note_pattern(2.0, SR, f0=220.0))  # deterministic
    names = [name for name, _ in synth.demo_album(1.0, 8000, 3, seed=0)]
    assert names == [name for name, _ in synth.demo_album(1.0, 8000, 3, seed=0)]
