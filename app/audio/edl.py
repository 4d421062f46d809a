"""The edit decision list (EDL) of a song: which clip sections, where, how loud, which lane.

A Track stores its EDL as JSON. Two shapes are accepted by `EditList.from_json`:

* a bare list of items (what `app.catalog.album.Track.edl` started with), track settings default;
* an object ``{"items": [...], "crossfade_s", "repeat_crossfade_s", "micro_fade_s", "lanes"}``,
  which is what `EditList.to_json` writes. ``lanes`` maps a lane number (a JSON string key) to
  ``{"pan", "offset_s", "gain_db"}``.

An item is ``{clip_id, start_s, end_s, gain_db, fade_in_s, fade_out_s, repeat, lane, offset_s,
pan}`` (plus an optional ``crossfade_s``: the length of the join from the previous item of its lane,
when it differs from the track's). Times are seconds; ``start_s``/``end_s`` are positions inside
the clip. `app.audio.timeline` documents how these numbers become samples.

Validation collects every problem before raising, and each problem names the item (its index in
``items``) and the field, so the studio can point at the offending control.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

ClipId = int | str

DEFAULT_CROSSFADE_S = 0.01  # equal-power join between consecutive items of a lane
DEFAULT_MICRO_FADE_S = 0.005  # linear fade on every cut that is not a crossfaded join
DEFAULT_REPEAT_CROSSFADE_S = 0.0  # repetitions butt-joined: exactly periodic, like a Web Audio loop


@dataclass(frozen=True)
class EdlProblem:
    """One reason an EDL is invalid. `index` is the item's position (None for track settings)."""

    index: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"item {self.index}" if self.index is not None else "track"
        return f"{where}: {self.field}: {self.message}"


class EdlError(ValueError):
    """An invalid EDL; `problems` lists every reason, each naming the item index and field."""

    def __init__(self, problems: Sequence[EdlProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class EditItem:
    """One section of one clip, placed on a lane.

    `pan` None means "the lane's pan". `offset_s` shifts the item (and so everything after it on
    its lane) from where it would otherwise start; negative values overlap it more with the
    previous item. `crossfade_s` None means the track's `crossfade_s`.
    """

    clip_id: ClipId
    start_s: float
    end_s: float
    gain_db: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    repeat: int = 1
    lane: int = 0
    offset_s: float = 0.0
    pan: float | None = None
    crossfade_s: float | None = None

    def __post_init__(self) -> None:
        _floats(
            self,
            (
                "start_s",
                "end_s",
                "gain_db",
                "fade_in_s",
                "fade_out_s",
                "offset_s",
                "pan",
                "crossfade_s",
            ),
        )

    @property
    def length_s(self) -> float:
        """Length of one repetition in seconds (clip time)."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Lane:
    """Settings shared by a lane's items: pan (−1 left … +1 right), start time, gain."""

    pan: float = 0.0
    offset_s: float = 0.0
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        _floats(self, ("pan", "offset_s", "gain_db"))


@dataclass(frozen=True)
class EditList:
    """A song: items in order plus track-level join settings and per-lane settings."""

    items: tuple[EditItem, ...] = ()
    crossfade_s: float = DEFAULT_CROSSFADE_S
    repeat_crossfade_s: float = DEFAULT_REPEAT_CROSSFADE_S
    micro_fade_s: float = DEFAULT_MICRO_FADE_S
    lanes: Mapping[int, Lane] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _floats(self, ("crossfade_s", "repeat_crossfade_s", "micro_fade_s"))
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "lanes", dict(sorted(self.lanes.items())))
        problems = _check(self)
        if problems:
            raise EdlError(problems)

    def lane(self, number: int) -> Lane:
        """The settings of lane `number` (defaults when the lane has none)."""
        return self.lanes.get(number, Lane())

    def lane_numbers(self) -> list[int]:
        """Lanes that hold at least one item, ascending."""
        return sorted({item.lane for item in self.items})

    def clip_ids(self) -> set[ClipId]:
        return {item.clip_id for item in self.items}

    def check_clips(
        self,
        known: Collection[ClipId],
        durations: Mapping[ClipId, float] | None = None,
    ) -> None:
        """Raise `EdlError` for items whose clip is unknown or whose `end_s` is past the clip's end.

        `durations` (seconds per clip id) enables the end check; a millisecond of slack absorbs
        rounding of durations computed at another sample rate.
        """
        problems: list[EdlProblem] = []
        for i, item in enumerate(self.items):
            if item.clip_id not in known:
                problems.append(EdlProblem(i, "clip_id", f"unknown clip {item.clip_id!r}"))
            elif durations is not None and item.clip_id in durations:
                dur = durations[item.clip_id]
                if item.end_s > dur + 0.001:
                    problems.append(
                        EdlProblem(i, "end_s", f"{item.end_s} s is past the clip's end ({dur} s)")
                    )
        if problems:
            raise EdlError(problems)

    # -- JSON -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json(to_json())` gives an equal EditList."""
        items = []
        for item in self.items:
            d: dict[str, Any] = {f.name: getattr(item, f.name) for f in fields(EditItem)}
            if d["crossfade_s"] is None:
                del d["crossfade_s"]
            items.append(d)
        return {
            "items": items,
            "crossfade_s": self.crossfade_s,
            "repeat_crossfade_s": self.repeat_crossfade_s,
            "micro_fade_s": self.micro_fade_s,
            "lanes": {
                str(n): {"pan": ln.pan, "offset_s": ln.offset_s, "gain_db": ln.gain_db}
                for n, ln in self.lanes.items()
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> EditList:
        """Parse either a bare item list or a `to_json` object; raise `EdlError` on bad input."""
        if isinstance(data, list):
            data = {"items": data}
        if not isinstance(data, dict):
            raise EdlError([EdlProblem(None, "edl", "expected a list of items or an object")])
        problems: list[EdlProblem] = []
        for key in sorted(set(data) - _TRACK_KEYS):
            problems.append(EdlProblem(None, key, "unknown field"))
        raw_items = data.get("items", [])
        if not isinstance(raw_items, list):
            problems.append(EdlProblem(None, "items", "expected a list"))
            raw_items = []
        items = [_parse_item(i, raw, problems) for i, raw in enumerate(raw_items)]
        lanes = _parse_lanes(data.get("lanes", {}), problems)
        track: dict[str, float] = {}
        for key in ("crossfade_s", "repeat_crossfade_s", "micro_fade_s"):
            if key in data:
                value = _number(data[key], None, key, problems)
                if value is not None:
                    track[key] = value
        if problems:
            # Range-check what did parse too, so one answer lists every problem.
            for i, item in enumerate(items):
                if item is not None:
                    problems.extend(_check_item(i, item))
            problems.extend(_check_track(track, lanes))
            raise EdlError(problems)
        return cls(items=tuple(i for i in items if i is not None), lanes=lanes, **track)


# -- parsing and checks -----------------------------------------------------------------------

_ITEM_KEYS = {f.name for f in fields(EditItem)}
_LANE_KEYS = {f.name for f in fields(Lane)}
_TRACK_KEYS = {"items", "crossfade_s", "repeat_crossfade_s", "micro_fade_s", "lanes"}
_REQUIRED = ("clip_id", "start_s", "end_s")


def _floats(obj: object, names: Sequence[str]) -> None:
    # 3 and 3.0 are the same time; normalise so equality and JSON output do not depend on it.
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, int) and not isinstance(value, bool):
            object.__setattr__(obj, name, float(value))


def _number(value: Any, index: int | None, name: str, problems: list[EdlProblem]) -> float | None:
    # bool is an int subclass; `true` for a time is a client bug, not 1 second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(EdlProblem(index, name, f"expected a number, got {value!r}"))
        return None
    if not math.isfinite(value):
        problems.append(EdlProblem(index, name, f"must be finite, got {value!r}"))
        return None
    return float(value)


def _parse_item(index: int, raw: Any, problems: list[EdlProblem]) -> EditItem | None:
    if not isinstance(raw, dict):
        problems.append(EdlProblem(index, "item", "expected an object"))
        return None
    before = len(problems)
    for key in sorted(set(raw) - _ITEM_KEYS):
        problems.append(EdlProblem(index, key, "unknown field"))
    for key in _REQUIRED:
        if key not in raw:
            problems.append(EdlProblem(index, key, "missing"))
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _ITEM_KEYS:
            continue
        if key == "clip_id":
            if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
                problems.append(EdlProblem(index, key, f"expected an id, got {value!r}"))
            kwargs[key] = value
        elif key in ("repeat", "lane"):
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(EdlProblem(index, key, f"expected an integer, got {value!r}"))
            kwargs[key] = value
        elif value is None and key in ("pan", "crossfade_s"):
            kwargs[key] = None
        else:
            kwargs[key] = _number(value, index, key, problems)
    if len(problems) > before:
        return None
    return EditItem(**kwargs)


def _parse_lanes(raw: Any, problems: list[EdlProblem]) -> dict[int, Lane]:
    if not isinstance(raw, dict):
        problems.append(EdlProblem(None, "lanes", "expected an object keyed by lane number"))
        return {}
    lanes: dict[int, Lane] = {}
    for key, value in raw.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            problems.append(EdlProblem(None, f"lanes.{key}", "lane keys are integers"))
            continue
        if not isinstance(value, dict):
            problems.append(EdlProblem(None, f"lanes.{key}", "expected an object"))
            continue
        settings: dict[str, float] = {}
        for name in sorted(set(value) - _LANE_KEYS):
            problems.append(EdlProblem(None, f"lanes.{key}.{name}", "unknown field"))
        for name in _LANE_KEYS & set(value):
            parsed = _number(value[name], None, f"lanes.{key}.{name}", problems)
            if parsed is not None:
                settings[name] = parsed
        lanes[number] = Lane(**settings)
    return lanes


def _check(edl: EditList) -> list[EdlProblem]:
    """Range checks on typed values (run by the constructor: no invalid EditList exists)."""
    track = {n: getattr(edl, n) for n in ("crossfade_s", "repeat_crossfade_s", "micro_fade_s")}
    p = _check_track(track, edl.lanes)
    for i, item in enumerate(edl.items):
        p.extend(_check_item(i, item))
    return p


def _check_track(track: Mapping[str, float], lanes: Mapping[int, Lane]) -> list[EdlProblem]:
    p: list[EdlProblem] = []
    for name, value in track.items():
        if not math.isfinite(value) or value < 0:
            p.append(EdlProblem(None, name, f"must be ≥ 0, got {value}"))
    for number, lane in lanes.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            p.append(EdlProblem(None, "lanes", f"lane numbers are integers ≥ 0, got {number!r}"))
        if not -1.0 <= lane.pan <= 1.0:
            p.append(EdlProblem(None, f"lanes.{number}.pan", f"must be in −1..1, got {lane.pan}"))
        if not math.isfinite(lane.offset_s) or lane.offset_s < 0:
            p.append(
                EdlProblem(None, f"lanes.{number}.offset_s", f"must be ≥ 0, got {lane.offset_s}")
            )
        if not math.isfinite(lane.gain_db):
            p.append(EdlProblem(None, f"lanes.{number}.gain_db", "must be finite"))
    return p


def _check_item(i: int, item: EditItem) -> list[EdlProblem]:
    p: list[EdlProblem] = []
    for name in ("start_s", "end_s", "gain_db", "fade_in_s", "fade_out_s", "offset_s"):
        if not math.isfinite(getattr(item, name)):
            p.append(EdlProblem(i, name, "must be finite"))
    if p:
        return p
    if item.start_s < 0:
        p.append(EdlProblem(i, "start_s", f"must be ≥ 0, got {item.start_s}"))
    if item.end_s <= item.start_s:
        p.append(
            EdlProblem(i, "end_s", f"must be after start_s ({item.start_s}), got {item.end_s}")
        )
    for name in ("fade_in_s", "fade_out_s"):
        if getattr(item, name) < 0:
            p.append(EdlProblem(i, name, f"must be ≥ 0, got {getattr(item, name)}"))
    if item.end_s > item.start_s and item.fade_in_s + item.fade_out_s > item.length_s * item.repeat:
        p.append(EdlProblem(i, "fade_out_s", "fade in + fade out are longer than the item"))
    if isinstance(item.repeat, bool) or not isinstance(item.repeat, int) or item.repeat < 1:
        p.append(EdlProblem(i, "repeat", f"must be an integer ≥ 1, got {item.repeat!r}"))
    if isinstance(item.lane, bool) or not isinstance(item.lane, int) or item.lane < 0:
        p.append(EdlProblem(i, "lane", f"must be an integer ≥ 0, got {item.lane!r}"))
    if item.pan is not None and not -1.0 <= item.pan <= 1.0:
        p.append(EdlProblem(i, "pan", f"must be in −1..1, got {item.pan}"))
    if item.crossfade_s is not None and not (
        math.isfinite(item.crossfade_s) and item.crossfade_s >= 0
    ):
        p.append(EdlProblem(i, "crossfade_s", f"must be ≥ 0, got {item.crossfade_s}"))
    if (
        isinstance(item.clip_id, bool)
        or not isinstance(item.clip_id, int | str)
        or item.clip_id == ""
    ):
        p.append(EdlProblem(i, "clip_id", f"expected an id, got {item.clip_id!r}"))
    return p
