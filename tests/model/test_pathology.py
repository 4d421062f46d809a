"""Pathology flags on signals with known answers: each detector raises its flag on the signal
made to have it, and on nothing else; music-like synth raises none."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis import analyze
from model.pathology import FLAG_NAMES, longest_run, ramp
from tests.model import signals as s


def raised(x: np.ndarray) -> dict[str, object]:
    return {f.name: f for f in analyze(x, s.SR).raised}


def test_silence_is_silent_and_nothing_else() -> None:
    flags = raised(s.silence())
    assert set(flags) == {"silent"}
    assert "100%" in flags["silent"].reason


@pytest.mark.parametrize("noise", [s.white_noise, s.pink_noise], ids=["white", "pink"])
def test_white_and_pink_noise_are_noise(noise) -> None:
    flags = raised(noise())
    assert set(flags) == {"noise"}, flags
    assert flags["noise"].details["flat_share"] > 0.9


def test_a_clipped_square_burst_is_exploded_and_clipped() -> None:
    flags = raised(s.square_burst(start=2.0, length=4.0))
    assert set(flags) == {"exploded", "clipped"}, flags
    assert flags["exploded"].details["longest_s"] == pytest.approx(4.0, abs=0.15)
    assert "from 2.0 s" in flags["exploded"].reason


def test_a_held_note_is_a_drone_not_a_loop() -> None:
    flags = raised(s.drone(8.0))
    assert set(flags) == {"drone"}, flags
    assert flags["drone"].details["longest_s"] > 7.0


def test_a_repeated_half_second_is_a_loop_with_its_period_and_start() -> None:
    flags = raised(s.looped(before=3.0, period=0.5, repeats=10))
    assert set(flags) == {"loop"}, flags
    loop = flags["loop"]
    assert loop.details["period_s"] == pytest.approx(0.5, abs=0.005)
    assert loop.details["start_s"] == pytest.approx(3.0, abs=0.1)
    assert loop.reason == "repeats a 0.50 s segment from 3.0 s to the end"


def test_a_loop_of_another_length_reports_that_period() -> None:
    loop = raised(s.looped(before=2.0, period=0.73, repeats=8, seed=3))["loop"]
    assert loop.details["period_s"] == pytest.approx(0.73, abs=0.005)
    assert loop.details["start_s"] == pytest.approx(2.0, abs=0.1)


def test_an_offset_waveform_is_dc() -> None:
    flags = raised(s.music(8.0) * 0.5 + 0.05)
    assert set(flags) == {"dc"}, flags
    assert "+0.05" in flags["dc"].reason


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_music_like_synth_raises_no_flag(seed: int) -> None:
    analysis = analyze(s.music(20.0, seed=seed), s.SR)
    assert analysis.raised == []
    assert [f.name for f in analysis.flags] == [n for n in FLAG_NAMES if n != "copied"]
    assert all(0.0 <= f.score < 0.5 for f in analysis.flags)


def test_every_score_is_in_0_1_and_every_reason_is_one_line() -> None:
    for x in (s.silence(), s.white_noise(), s.drone(), s.looped(), s.square_burst(), s.music()):
        for flag in analyze(x, s.SR).flags:
            assert 0.0 <= flag.score <= 1.0
            assert flag.reason and "\n" not in flag.reason


def test_a_clip_shorter_than_a_frame_is_silent_not_an_error() -> None:
    assert {f.name for f in analyze(np.zeros(100, np.float32), s.SR).raised} == {"silent"}


def test_ramp_and_longest_run() -> None:
    assert ramp(0.8, 0.6, 1.0) == pytest.approx(0.5)
    assert ramp(9.0, 6.0, 2.0) == 0.0 and ramp(1.0, 6.0, 2.0) == 1.0
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], bool)) == (4, 3)
    assert longest_run(np.zeros(5, bool)) == (0, 0)
