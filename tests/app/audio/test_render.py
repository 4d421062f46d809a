import numpy as np
import pytest

from app.audio.edl import EditItem, EditList, EdlError, Lane
from app.audio.render import (
    equal_power_fade_in,
    pan_gains,
    render_track,
    track_duration,
    zero_crossing,
)
from app.audio.timeline import plan

SR = 8000
C = np.sqrt(0.5)  # centre pan gain per side


def _loader(clips: dict[object, tuple[np.ndarray, int]]):
    calls: list[object] = []

    def load(clip_id):
        calls.append(clip_id)
        audio, rate = clips[clip_id]
        return audio.astype(np.float32), rate

    load.calls = calls  # type: ignore[attr-defined]
    return load


def _noise(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * sr)) * 0.1


RAMP = np.arange(SR, dtype=np.float64) / SR  # clip value at sample i is i / SR


def test_cut_lands_on_exact_samples_with_micro_fades() -> None:
    edl = EditList(items=(EditItem(clip_id=1, start_s=0.25, end_s=0.75),), micro_fade_s=0.005)
    out = render_track(edl, _loader({1: (RAMP, SR)}), sample_rate=SR)
    assert out.shape == (2, 4000) and out.dtype == np.float32
    src = RAMP[2000:6000].astype(np.float32).astype(np.float64)
    m = 40  # S(0.005 s) at 8 kHz
    env = np.ones(4000)
    env[:m] = np.arange(m) / m
    env[-m:] = np.arange(m)[::-1] / m
    np.testing.assert_allclose(out[0], C * src * env, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(out[0], out[1])
    assert out[0, m] == pytest.approx(C * 2040 / SR, rel=1e-6)  # first unfaded sample


def test_gain_db_scales_the_section() -> None:
    clips = {1: (RAMP, SR)}
    plain = render_track(
        EditList(items=(EditItem(clip_id=1, start_s=0.25, end_s=0.75),)),
        _loader(clips),
        sample_rate=SR,
    )
    quiet = render_track(
        EditList(items=(EditItem(clip_id=1, start_s=0.25, end_s=0.75, gain_db=-6.0),)),
        _loader(clips),
        sample_rate=SR,
    )
    np.testing.assert_allclose(quiet, plain * 10 ** (-6 / 20), rtol=1e-6)


def test_linear_fades_are_exactly_the_requested_length() -> None:
    ones = np.ones(SR)
    item = EditItem(clip_id=1, start_s=0.0, end_s=1.0, fade_in_s=0.1, fade_out_s=0.05)
    out = render_track(EditList(items=(item,)), _loader({1: (ones, SR)}), sample_rate=SR)[0] / C
    np.testing.assert_allclose(out[:800], np.arange(800) / 800, atol=1e-6)
    np.testing.assert_allclose(out[-400:], np.arange(400)[::-1] / 400, atol=1e-6)
    np.testing.assert_allclose(out[800:-400], 1.0, atol=1e-6)


def test_repeat_three_times_is_periodic_with_the_item_length() -> None:
    unit = _noise(0.1, 1)  # 800 samples
    item = EditItem(clip_id=1, start_s=0.0, end_s=0.1, repeat=3)
    out = render_track(
        EditList(items=(item,), micro_fade_s=0.0), _loader({1: (unit, SR)}), sample_rate=SR
    )[0]
    assert out.shape == (2400,)
    u32 = unit.astype(np.float32).astype(np.float64) * C
    for j in range(3):
        np.testing.assert_allclose(out[j * 800 : (j + 1) * 800], u32, rtol=1e-6, atol=1e-9)


def test_repeat_crossfade_shortens_the_period_by_the_overlap() -> None:
    unit = _noise(0.1, 2)  # U = 800
    item = EditItem(clip_id=1, start_s=0.0, end_s=0.1, repeat=3)
    edl = EditList(items=(item,), micro_fade_s=0.0, repeat_crossfade_s=0.01)  # R = 80
    out = render_track(edl, _loader({1: (unit, SR)}), sample_rate=SR)[0] / C
    assert out.shape == (3 * 800 - 2 * 80,)
    u = unit.astype(np.float32).astype(np.float64)
    period = 720
    for j in range(3):  # the part of each repetition outside any overlap is the unit itself
        np.testing.assert_allclose(
            out[j * period + 80 : j * period + 720], u[80:720], rtol=1e-5, atol=1e-7
        )
    ramp = equal_power_fade_in(80)
    np.testing.assert_allclose(
        out[720:800], u[720:800] * ramp[::-1] + u[:80] * ramp, rtol=1e-5, atol=1e-7
    )


def test_items_of_a_lane_join_with_an_equal_power_crossfade() -> None:
    a, b = np.ones(SR), 2 * np.ones(SR)
    edl = EditList(
        items=(
            EditItem(clip_id="a", start_s=0, end_s=0.5),
            EditItem(clip_id="b", start_s=0, end_s=0.5),
        ),
        crossfade_s=0.01,
        micro_fade_s=0.0,
    )
    out = render_track(edl, _loader({"a": (a, SR), "b": (b, SR)}), sample_rate=SR)[0] / C
    assert out.shape == (4000 + 4000 - 80,)
    ramp = equal_power_fade_in(80)
    np.testing.assert_allclose(out[:3920], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[3920:4000], ramp[::-1] + 2 * ramp, atol=1e-6)
    np.testing.assert_allclose(out[4000:], 2.0, atol=1e-6)


def test_equal_power_crossfade_keeps_noise_power_constant_through_the_join() -> None:
    # Average over many independent noise pairs so the window estimates are steady to ~1 %.
    xf = 800
    edl = EditList(
        items=(
            EditItem(clip_id="a", start_s=0, end_s=0.3),
            EditItem(clip_id="b", start_s=0, end_s=0.3),
        ),
        crossfade_s=xf / SR,
        micro_fade_s=0.0,
    )
    power = np.zeros(2 * 2400 - xf)
    trials = 200
    for seed in range(trials):
        clips = {"a": (_noise(0.3, 2 * seed), SR), "b": (_noise(0.3, 2 * seed + 1), SR)}
        out = render_track(edl, _loader(clips), sample_rate=SR).astype(np.float64)
        power += (out**2).sum(axis=0)
    power /= trials
    reference = power[:1200].mean()
    join = power[1600 : 1600 + xf].reshape(-1, 80).mean(axis=1)  # ten windows across the join
    assert np.all(np.abs(join / reference - 1.0) < 0.05), join / reference


@pytest.mark.parametrize(("pan", "left", "right"), [(-1.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.0, C, C)])
def test_constant_power_pan(pan: float, left: float, right: float) -> None:
    x = _noise(0.2, 3)
    edl = EditList(items=(EditItem(clip_id=1, start_s=0, end_s=0.2, pan=pan),))
    out = render_track(edl, _loader({1: (x, SR)}), sample_rate=SR).astype(np.float64)
    energy = (out**2).sum(axis=1)
    total = energy.sum()
    assert energy[0] / total == pytest.approx(left**2, abs=1e-9)
    assert energy[1] / total == pytest.approx(right**2, abs=1e-9)
    if pan == 0.0:
        assert 10 * np.log10(pan_gains(0.0)[0] ** 2) == pytest.approx(-3.0103, abs=1e-3)


def test_lane_pan_applies_unless_the_item_overrides_it() -> None:
    x = np.ones(SR)
    edl = EditList(
        items=(
            EditItem(clip_id=1, start_s=0, end_s=0.5),
            EditItem(clip_id=1, start_s=0, end_s=0.5, lane=1, pan=0.0),
        ),
        lanes={0: Lane(pan=-1.0), 1: Lane(pan=1.0)},
        micro_fade_s=0,
    )
    out = render_track(edl, _loader({1: (x, SR)}), sample_rate=SR)
    np.testing.assert_allclose(out[:, 100], [1.0 + C, C], rtol=1e-6)


def test_lane_offset_shifts_by_exactly_the_rounded_samples() -> None:
    x = _noise(0.5, 4)
    base = EditList(items=(EditItem(clip_id=1, start_s=0.1, end_s=0.4, lane=1),))
    moved = EditList(items=base.items, lanes={1: Lane(offset_s=0.1234)})
    a = render_track(base, _loader({1: (x, SR)}), sample_rate=SR)
    b = render_track(moved, _loader({1: (x, SR)}), sample_rate=SR)
    shift = 987  # floor(0.1234 * 8000 + 0.5)
    assert b.shape[1] == a.shape[1] + shift
    assert not b[:, :shift].any()
    np.testing.assert_array_equal(b[:, shift:], a)


def test_lanes_sum() -> None:
    x, y = _noise(0.5, 5), _noise(0.5, 6)
    clips = {1: (x, SR), 2: (y, SR)}
    one = EditList(items=(EditItem(clip_id=1, start_s=0, end_s=0.5),))
    two = EditList(items=(EditItem(clip_id=2, start_s=0, end_s=0.5, lane=1),))
    both = EditList(items=one.items + two.items)
    mix = render_track(both, _loader(clips), sample_rate=SR)
    parts = render_track(one, _loader(clips), sample_rate=SR) + render_track(
        two, _loader(clips), sample_rate=SR
    )
    np.testing.assert_allclose(mix, parts, atol=1e-6)


def test_same_edl_renders_bit_identical_and_loads_each_clip_once() -> None:
    clips = {1: (_noise(1.0, 7), SR), 2: (_noise(1.0, 8, 16000), 16000)}
    edl = EditList.from_json(
        {
            "items": [
                {"clip_id": 1, "start_s": 0.1, "end_s": 0.6, "repeat": 2, "gain_db": -2},
                {"clip_id": 2, "start_s": 0.2, "end_s": 0.9, "fade_out_s": 0.1},
                {"clip_id": 1, "start_s": 0.0, "end_s": 0.3, "lane": 1, "pan": 0.3},
            ],
            "repeat_crossfade_s": 0.02,
            "lanes": {"1": {"offset_s": 0.05}},
        }
    )
    load = _loader(clips)
    first = render_track(edl, load, sample_rate=SR)
    assert load.calls == [1, 2]  # type: ignore[attr-defined]
    second = render_track(EditList.from_json(edl.to_json()), _loader(clips), sample_rate=SR)
    assert first.tobytes() == second.tobytes()


def test_a_22050_hz_clip_is_resampled_to_the_output_rate() -> None:
    sr_in, sr_out = 22050, 44100
    t = np.arange(sr_in) / sr_in
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    edl = EditList(items=(EditItem(clip_id=1, start_s=0.25, end_s=0.75, pan=-1.0),), micro_fade_s=0)
    out = render_track(edl, _loader({1: (tone, sr_in)}), sample_rate=sr_out)[0]
    assert out.shape == (22050,)
    t_out = (np.arange(22050) + 11025) / sr_out
    expected = 0.5 * np.sin(2 * np.pi * 1000 * t_out)
    np.testing.assert_allclose(out[100:-100], expected[100:-100], atol=2e-3)


def test_track_duration_matches_the_render() -> None:
    clips = {1: (_noise(1.0, 9), SR), 2: (_noise(1.0, 10), SR)}
    edl = EditList(
        items=(
            EditItem(clip_id=1, start_s=0.0, end_s=0.5, repeat=3),
            EditItem(clip_id=2, start_s=0.1, end_s=0.9),
            EditItem(clip_id=2, start_s=0.0, end_s=0.2, lane=2, offset_s=1.9),
        ),
        repeat_crossfade_s=0.05,
        crossfade_s=0.1,
    )
    duration = track_duration(edl, {1: 1.0, 2: 1.0}, sample_rate=SR)
    out = render_track(edl, _loader(clips), sample_rate=SR)
    assert duration == out.shape[1] / SR
    assert plan(edl, SR).length == 3 * 4000 - 2 * 400 + 6400 - 800
    with pytest.raises(EdlError) as excinfo:
        track_duration(edl, {1: 1.0}, sample_rate=SR)
    assert [(p.index, p.field) for p in excinfo.value.problems] == [(1, "clip_id"), (2, "clip_id")]


def test_a_section_past_the_clip_end_names_the_item() -> None:
    edl = EditList(
        items=(
            EditItem(clip_id=1, start_s=0, end_s=0.5),
            EditItem(clip_id=1, start_s=0.5, end_s=1.5),
        )
    )
    with pytest.raises(EdlError) as excinfo:
        render_track(edl, _loader({1: (np.ones(SR), SR)}), sample_rate=SR)
    assert [(p.index, p.field) for p in excinfo.value.problems] == [(1, "end_s")]


def test_negative_offset_before_the_track_start_is_an_error() -> None:
    edl = EditList(items=(EditItem(clip_id=1, start_s=0, end_s=0.5, offset_s=-0.1),))
    with pytest.raises(EdlError) as excinfo:
        plan(edl, SR)
    assert [(p.index, p.field) for p in excinfo.value.problems] == [(0, "offset_s")]


def test_zero_crossing_snaps_to_the_nearest_sign_change() -> None:
    sr = 48000
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * 100 * t + 0.3)  # crossings every 5 ms
    crossings = (np.arange(1, 200) * np.pi - 0.3) / (2 * np.pi * 100)
    snapped = zero_crossing(x, 0.2021, sr, search_ms=5)
    nearest = crossings[np.argmin(np.abs(crossings - 0.2021))]
    assert abs(snapped - nearest) <= 1 / sr
    assert (
        abs(x[round(snapped * sr)])
        <= np.abs(x[round(snapped * sr) - 1 : round(snapped * sr) + 2]).min() + 1e-12
    )
    assert zero_crossing(np.ones(sr), 0.5, sr) == 0.5  # nothing to snap to
    stereo = np.stack([x, x])
    assert zero_crossing(stereo, 0.2021, sr) == snapped
