import numpy as np
import pytest
import soundfile as sf

from app.audio.limiter import gain_curve, limit_true_peak, sliding_min
from app.audio.master import (
    TrackToCheck,
    check_tracks,
    master_album,
    quantize,
    to_export_format,
    write_flac,
    write_wav,
)
from model.loudness import integrated_lufs, oversampled_peaks, true_peak_dbtp


def _music(seconds: float, sr: int, seed: int, channels: int = 1) -> np.ndarray:
    """Drum-like hits over a chord and hiss: peaky material, so the limiter has work to do."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    chord = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (110, 165, 220, 330)) * 0.1
    hits = np.zeros(n)
    for start in rng.uniform(0, seconds - 0.2, size=int(seconds * 3)):
        i = int(start * sr)
        k = np.arange(int(0.15 * sr))
        hits[i : i + k.size] += rng.standard_normal(k.size) * np.exp(-k / (0.02 * sr))
    mono = chord + 0.15 * hits + 0.01 * rng.standard_normal(n)
    if channels == 1:
        return mono
    return np.stack([mono, np.roll(mono, 37) * 0.8])


@pytest.fixture(scope="module")
def album() -> tuple[list[np.ndarray], list[int]]:
    # Three tracks at different levels, rates and channel counts, as renders and clips come.
    tracks = [
        _music(8.0, 16000, 1) * 0.5,  # about −21 LUFS; the loudest needs ~1 dB of limiting
        _music(7.0, 22050, 2, channels=2) * 0.35,  # −25
        _music(6.0, 44100, 3, channels=2) * 0.25,  # −28
    ]
    return tracks, [16000, 22050, 44100]


def test_album_is_mastered_to_minus_14_lufs_under_minus_1_dbtp_in_24_bit_flac(
    album, tmp_path
) -> None:
    tracks, rates = album
    before = [integrated_lufs(to_export_format(t, r), 44100) for t, r in zip(tracks, rates, strict=True)]
    mastered = master_album(tracks, rates)
    paths = [
        write_flac(tmp_path / f"{i:02d}.flac", y, mastered.sample_rate)
        for i, y in enumerate(mastered.tracks, 1)
    ]
    decoded = []
    for path in paths:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.format, info.subtype) == (
            44100,
            2,
            "FLAC",
            "PCM_24",
        )
        audio, sr = sf.read(path, always_2d=True)
        decoded.append(audio.T)
        assert true_peak_dbtp(audio.T, sr) <= -1.0
    album_lufs = integrated_lufs(np.concatenate(decoded, axis=1), 44100)
    assert album_lufs == pytest.approx(-14.0, abs=0.5)
    after = [integrated_lufs(d, 44100) for d in decoded]
    # Album mode: one gain for all, so the differences between tracks survive (limiter aside).
    assert np.diff(after) == pytest.approx(np.diff(before), abs=0.5)
    assert after[0] - after[2] > 5.0
    assert mastered.limiter[0].max_reduction_db > 0.3  # the ceiling did bite
    for m, d in zip(mastered.measurements, decoded, strict=True):
        assert m.integrated_lufs == pytest.approx(integrated_lufs(d, 44100), abs=0.01)
        assert m.true_peak_dbtp <= -1.0
    assert [m.duration_s for m in mastered.measurements] == pytest.approx([8.0, 7.0, 6.0], abs=1e-3)
    report = mastered.report()
    assert report["album_integrated_lufs"] == pytest.approx(-14.0, abs=0.1)
    assert len(report["tracks"]) == 3


def test_mono_is_duplicated_and_resampled_to_44_1_khz() -> None:
    x = _music(1.0, 16000, 4)
    out = to_export_format(x, 16000)
    assert out.shape == (2, 44100)
    np.testing.assert_array_equal(out[0], out[1])


def test_silent_album_is_refused() -> None:
    with pytest.raises(ValueError, match="silent"):
        master_album([np.zeros(44100 * 2)], 44100)


def test_limiter_guarantees_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    sr = 44100
    x = _music(4.0, sr, 5, channels=2) * 2.0  # far over full scale
    y, report = limit_true_peak(x, sr, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(y, sr) <= -1.0
    assert report.true_peak_in_dbtp > 3.0 and report.max_reduction_db > 3.0
    quiet = x * 0.05
    same, report = limit_true_peak(quiet, sr, ceiling_dbtp=-1.0)
    np.testing.assert_array_equal(same, quiet)
    assert report.passes == 0


def test_limiter_catches_inter_sample_peaks() -> None:
    sr = 44100
    n = np.arange(sr)
    x = 1.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4) * np.hanning(sr)  # peaks between samples
    y, report = limit_true_peak(x, sr, ceiling_dbtp=-1.0)
    assert report.true_peak_in_dbtp > 3.0
    assert true_peak_dbtp(y, sr) <= -1.0


def test_inter_sample_peaks_count() -> None:
    # fs/4 sine at 45° phase: every sample is at 0.707 of the real peak, which lies between samples.
    sr = 44100
    n = np.arange(sr)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert np.abs(x).max() == pytest.approx(np.sqrt(0.5))
    assert true_peak_dbtp(x, sr) == pytest.approx(0.0, abs=0.1)


def test_sliding_min_matches_brute_force() -> None:
    x = np.random.default_rng(6).uniform(size=500)
    for before, after in [(0, 0), (3, 0), (0, 7), (5, 11), (40, 2)]:
        got = sliding_min(x, before=before, after=after)
        want = [x[max(0, i - before) : i + after + 1].min() for i in range(x.size)]
        np.testing.assert_array_equal(got, want)


def test_gain_curve_never_exceeds_what_each_sample_needs() -> None:
    rng = np.random.default_rng(7)
    peaks = np.abs(rng.standard_normal(5000)) * rng.uniform(0.1, 3.0, 5000)
    gain = gain_curve(peaks, 0.9, attack=30, release=200)
    assert np.all(gain * peaks <= 0.9 + 1e-12)
    assert np.all(np.diff(gain) ** 2 < 0.01)  # smooth, no jumps


def test_oversampled_peaks_are_aligned_with_the_samples() -> None:
    x = np.zeros(1000)
    x[500] = 1.0
    assert int(np.argmax(oversampled_peaks(x, 44100))) == 500


def test_16_bit_wav_is_tpdf_dithered_and_reproducible(tmp_path) -> None:
    sr = 44100
    x = 0.25 * np.sin(2 * np.pi * 441 * np.arange(sr) / sr)
    a = write_wav(tmp_path / "a.wav", np.stack([x, x]), sr, bits=16, seed=3)
    b = write_wav(tmp_path / "b.wav", np.stack([x, x]), sr, bits=16, seed=3)
    assert a.read_bytes() == b.read_bytes()
    assert sf.info(a).subtype == "PCM_16"
    back, _ = sf.read(a, dtype="int16")
    error = back[:, 0] - x * 32768
    assert np.sqrt(np.mean(error**2)) == pytest.approx(
        0.5, abs=0.05
    )  # TPDF (1/6) + rounding (1/12) LSB²
    assert np.abs(error).max() <= 1.5
    silence = quantize(np.zeros((2, 10000)), 16, dither=True, seed=1)
    assert set(np.unique(silence)) <= {-1, 0, 1} and silence.any()
    assert not list(tmp_path.glob(".*part"))


def test_24_bit_wav_round_trips_to_the_lsb(tmp_path) -> None:
    sr = 44100
    x = np.stack([_music(0.5, sr, 8), _music(0.5, sr, 9)]) * 0.3
    path = write_wav(tmp_path / "a.wav", x, sr, bits=24)
    back, _ = sf.read(path, always_2d=True)
    assert sf.info(path).subtype == "PCM_24"
    assert np.abs(back.T - x).max() <= 0.5 / 2**23 + 1e-12


def _checked(title: str, audio: np.ndarray, sr: int = 8000) -> list[str]:
    return check_tracks([TrackToCheck(title=title, audio=audio, sample_rate=sr)])


def test_checks_pass_a_good_track() -> None:
    assert _checked("Fine", _music(31.0, 8000, 10)) == []


def test_checks_name_each_problem() -> None:
    sr = 8000
    short = _checked("Tiny", _music(12.0, sr, 11))
    assert len(short) == 1 and "Track 1 “Tiny” is 12.0 s long" in short[0]
    body = _music(31.0, sr, 12)
    padded = np.concatenate([np.zeros(11 * sr), body, 1e-4 * np.ones(12 * sr)])
    problems = _checked("", padded)
    assert any("no title" in p for p in problems)
    assert any("starts with 11.0 s of silence" in p for p in problems)
    assert any("ends with 12.0 s of silence" in p for p in problems)
    clipped = np.clip(body * 3, -1.0, 1.0)
    (problem,) = _checked("Loud", clipped)
    assert "clipped" in problem
    assert any("silent" in p for p in _checked("Nothing", np.zeros(40 * sr)))
    assert check_tracks([]) == ["The album has no tracks."]
