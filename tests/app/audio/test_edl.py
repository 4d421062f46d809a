import json

import pytest

from app.audio.edl import DEFAULT_CROSSFADE_S, EditItem, EditList, EdlError, Lane


def _problems(excinfo: pytest.ExceptionInfo[EdlError]) -> set[tuple[int | None, str]]:
    return {(p.index, p.field) for p in excinfo.value.problems}


def test_item_defaults_are_the_catalog_defaults() -> None:
    item = EditItem(clip_id=7, start_s=1.0, end_s=2.0)
    assert (item.gain_db, item.fade_in_s, item.fade_out_s) == (0.0, 0.0, 0.0)
    assert (item.repeat, item.lane, item.offset_s, item.pan) == (1, 0, 0.0, None)
    edl = EditList(items=(item,))
    assert edl.crossfade_s == DEFAULT_CROSSFADE_S
    assert edl.lane(0) == Lane(pan=0.0, offset_s=0.0, gain_db=0.0)


def test_bare_item_list_from_the_catalog_parses() -> None:
    edl = EditList.from_json([{"clip_id": 3, "start_s": 0, "end_s": 1.5}])
    assert edl.items == (EditItem(clip_id=3, start_s=0.0, end_s=1.5),)


def test_json_round_trip_is_exact() -> None:
    edl = EditList(
        items=(
            EditItem(clip_id=1, start_s=0.25, end_s=0.75, gain_db=-3, fade_in_s=0.1, repeat=3),
            EditItem(
                clip_id="abc", start_s=1, end_s=2, lane=1, offset_s=-0.01, pan=0.5, crossfade_s=0.2
            ),
        ),
        crossfade_s=0.05,
        repeat_crossfade_s=0.01,
        micro_fade_s=0.007,
        lanes={1: Lane(pan=1.0, offset_s=0.123, gain_db=-1.5), 0: Lane(pan=-1.0)},
    )
    text = json.dumps(edl.to_json())
    again = EditList.from_json(json.loads(text))
    assert again == edl
    assert json.dumps(again.to_json()) == text
    assert list(json.loads(text)["lanes"]) == ["0", "1"]


def test_start_after_end_names_item_and_field() -> None:
    with pytest.raises(EdlError) as excinfo:
        EditList.from_json(
            [
                {"clip_id": 1, "start_s": 0, "end_s": 1},
                {"clip_id": 1, "start_s": 2, "end_s": 2},
            ]
        )
    assert _problems(excinfo) == {(1, "end_s")}
    assert "item 1: end_s" in str(excinfo.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(EdlError) as excinfo:
        EditList.from_json(
            {
                "items": [
                    {"clip_id": 1, "start_s": -1, "end_s": 1, "fade_in_s": -0.1, "repeat": 0},
                    {"clip_id": 1, "start_s": 0, "end_s": 1, "pan": 1.5, "lane": -1},
                    {"clip_id": 1, "start_s": 0, "end_s": 1, "gain": 3},
                    {"clip_id": True, "start_s": "0", "end_s": float("nan")},
                    {"start_s": 0, "end_s": 1},
                ],
                "crossfade_s": -0.01,
                "lanes": {"0": {"pan": -2}, "x": {}},
                "tempo": 120,
            }
        )
    assert _problems(excinfo) == {
        (0, "start_s"),
        (0, "fade_in_s"),
        (0, "repeat"),
        (1, "pan"),
        (1, "lane"),
        (2, "gain"),
        (3, "clip_id"),
        (3, "start_s"),
        (3, "end_s"),
        (4, "clip_id"),
        (None, "crossfade_s"),
        (None, "lanes.0.pan"),
        (None, "lanes.x"),
        (None, "tempo"),
    }


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(EdlError) as excinfo:
        EditList.from_json(
            [{"clip_id": 1, "start_s": 0, "end_s": 1, "repeat": True, "gain_db": False}]
        )
    assert _problems(excinfo) == {(0, "repeat"), (0, "gain_db")}


def test_fades_longer_than_the_item_are_refused() -> None:
    with pytest.raises(EdlError) as excinfo:
        EditList(items=(EditItem(clip_id=1, start_s=0, end_s=1, fade_in_s=0.6, fade_out_s=0.6),))
    assert _problems(excinfo) == {(0, "fade_out_s")}


def test_unknown_clip_and_end_past_clip() -> None:
    edl = EditList(
        items=(
            EditItem(clip_id=1, start_s=0, end_s=10.0),
            EditItem(clip_id=2, start_s=0, end_s=1),
            EditItem(clip_id=1, start_s=0, end_s=10.0005),
        )
    )
    with pytest.raises(EdlError) as excinfo:
        edl.check_clips({1, 3}, {1: 9.5})
    assert _problems(excinfo) == {(0, "end_s"), (1, "clip_id"), (2, "end_s")}
    edl.check_clips({1, 2}, {1: 10.0, 2: 1.0})  # 0.5 ms over is rounding slack
