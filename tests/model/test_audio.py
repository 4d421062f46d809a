"""Decoding, checking (model/audio.py) and conditioning audio (model/preprocess.py).

All audio is synthesized into tmp_path. `make_malformed` builds the malformed-audio corpus of
RELIABILITY.md item 22; test_dataset.py reuses it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model import audio, preprocess

HAS_MP3 = "MP3" in sf.available_formats()

# kind -> (file name, words the error must contain)
MALFORMED = {
    "empty": ("empty.wav", "empty"),
    "random_bytes": ("noise.wav", "not a readable audio file"),
    "html_as_flac": ("page.flac", "not a readable audio file"),
    "zero_frames": ("nothing.wav", "no audio"),
    "truncated_wav": ("cut.wav", "truncated"),
    "truncated_mp3": ("cut.mp3", "truncated"),
    "truncated_flac": ("cut.flac", "truncated"),
    "m4a_without_ffmpeg": ("song.m4a", "ffmpeg"),
}


def sine(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def make_malformed(kind: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write one broken file of `kind` into `directory` and return its path."""
    name, _ = MALFORMED[kind]
    path = directory / name
    tone = sine(1.0, 16000)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "html_as_flac":
        path.write_bytes(b"<!doctype html><html><body>not audio</body></html>\n" * 20)
    elif kind == "zero_frames":
        sf.write(path, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    elif kind == "truncated_mp3":
        if not HAS_MP3:
            pytest.skip("libsndfile here cannot write MP3")
        sf.write(path, tone, 16000, format="MP3")
        _cut_in_half(path)
    elif kind in ("truncated_wav", "truncated_flac"):
        sf.write(path, tone, 16000, subtype="PCM_16")
        _cut_in_half(path)
    elif kind == "m4a_without_ffmpeg":
        # The start of an MP4 container: libsndfile cannot read it, so only ffmpeg could.
        path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A mp42isom" + bytes(512))
        monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    else:
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_file_is_rejected_with_its_name_and_reason(tmp_path, monkeypatch, kind):
    path = make_malformed(kind, tmp_path, monkeypatch)
    with pytest.raises(audio.AudioError) as err:
        audio.decode(path)
    message = str(err.value)
    assert path.name in message
    assert MALFORMED[kind][1] in message
    assert err.value.path == str(path)
    assert isinstance(err.value, ValueError)  # the CLI and the API turn these into clean errors


@pytest.mark.parametrize("kind", ["empty", "random_bytes", "html_as_flac", "zero_frames"])
def test_probe_rejects_what_the_header_already_shows(tmp_path, monkeypatch, kind):
    path = make_malformed(kind, tmp_path, monkeypatch)
    with pytest.raises(audio.AudioError, match=MALFORMED[kind][1]):
        audio.probe(path)


def test_truncated_wav_header_count_is_reported(tmp_path, monkeypatch):
    path = make_malformed("truncated_wav", tmp_path, monkeypatch)
    with pytest.raises(audio.AudioError, match=r"declares 16000 frames .* only 79\d\d frames"):
        audio.validate(path)


def test_m4a_with_ffmpeg_but_without_pydub_names_pydub(tmp_path, monkeypatch):
    path = make_malformed("m4a_without_ffmpeg", tmp_path, monkeypatch)
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: "/usr/bin/ffmpeg")
    monkeypatch.setitem(sys.modules, "pydub", None)  # makes `import pydub` fail
    with pytest.raises(audio.AudioError, match="pydub"):
        audio.decode(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        audio.decode(tmp_path / "nope.wav")


def test_non_finite_samples_are_rejected(tmp_path):
    x = sine(0.1, 16000)
    x[10] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match="NaN"):
        audio.decode(path)


@pytest.mark.parametrize(
    ("fmt", "subtype", "ext"),
    [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_24", "flac"), ("OGG", "VORBIS", "ogg"),
     ("AIFF", "PCM_16", "aiff")],
)
def test_decode_good_files(tmp_path, fmt, subtype, ext):
    stereo = np.stack([sine(0.5, 22050, 440), sine(0.5, 22050, 660)], axis=1)  # (frames, 2)
    path = tmp_path / f"ok.{ext}"
    sf.write(path, stereo, 22050, format=fmt, subtype=subtype)
    x, sr = audio.decode(path)
    assert sr == 22050
    assert x.dtype == np.float32 and x.shape == stereo.shape
    info = audio.probe(path)
    assert (info.format, info.sample_rate, info.channels, info.frames) == (fmt, 22050, 2, 11025)
    assert info.seconds == pytest.approx(0.5)
    assert info.name == f"ok.{ext}"
    if subtype.startswith("PCM"):
        assert np.abs(x - stereo).max() < 1e-3


@pytest.mark.skipif(not HAS_MP3, reason="libsndfile here cannot write MP3")
def test_decode_good_mp3(tmp_path):
    path = tmp_path / "ok.mp3"
    sf.write(path, sine(1.0, 16000), 16000, format="MP3")
    assert audio.validate(path).frames == 16000


def test_to_mono_averages_channels():
    x = np.array([[1.0, 0.0], [0.5, -0.5]], dtype=np.float32)  # (frames=2, channels=2)
    np.testing.assert_allclose(preprocess.to_mono(x), [0.5, 0.0])
    assert preprocess.to_mono(x[:, 0]).shape == (2,)


def test_remove_dc_subtracts_each_channels_mean():
    x = np.stack([sine(1.0, 8000) + 0.25, sine(1.0, 8000) - 0.1], axis=1)
    y = preprocess.remove_dc(x)
    np.testing.assert_allclose(y.mean(axis=0), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(y[:, 0], sine(1.0, 8000), atol=1e-5)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[spectrum.argmax()])


def test_resample_keeps_frequency_and_length():
    x = sine(1.0, 44100, freq=1000.0)
    y = preprocess.resample(x, 44100, 16000)
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) <= 1
    assert dominant_hz(y, 16000) == pytest.approx(1000.0, abs=2.0)
    assert np.abs(y[1000:-1000]).max() == pytest.approx(0.5, abs=0.01)  # no gain change
    np.testing.assert_array_equal(preprocess.resample(x, 44100, 44100), x)  # same rate: untouched


def test_audio_extensions_cover_the_album_formats():
    expected = {"wav", "flac", "ogg", "oga", "mp3", "aiff", "aif", "m4a", "aac", "opus", "wma"}
    assert expected <= audio.AUDIO_EXTENSIONS


def test_importing_audio_does_not_import_torch():
    # The web app validates uploads with this module and must never load torch.
    code = "import sys, model.audio, model.preprocess; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]).returncode == 0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (.ci/run installs it)")
def test_m4a_decodes_through_ffmpeg(tmp_path):
    """A real AAC-in-MP4 file (made by ffmpeg from a synthesized 440 Hz tone) decodes to the same
    length and pitch; libsndfile alone cannot read it."""
    sr = 44100
    t = np.arange(2 * sr) / sr
    wav = tmp_path / "tone.wav"
    sf.write(wav, 0.5 * np.sin(2 * np.pi * 440 * t), sr)
    m4a = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    with pytest.raises(sf.SoundFileError):
        sf.info(m4a)
    data, got_sr = audio.decode(m4a)
    assert got_sr == sr
    assert abs(data.shape[0] - 2 * sr) < 0.05 * sr  # AAC priming/padding, at most a few frames
    mono = preprocess.to_mono(data)
    spectrum = np.abs(np.fft.rfft(mono))
    assert abs(np.fft.rfftfreq(len(mono), 1 / sr)[np.argmax(spectrum)] - 440) < 2
