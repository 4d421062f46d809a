"""Flag filters and best-first order on both databases (bitwise masks in SQL)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.services.analysis import FLAG_BITS, HARD_MASK, mask_of, names_of
from app.services.clips import FLAG_FILTERS, ClipFilter, list_clips
from model.pathology import FLAG_NAMES, HARD_FLAGS
from tests.app.factories import add_clips, make_project


def test_every_flag_filter_selects_what_it_says(session: Session) -> None:
    project = make_project(session)
    add_clips(session, project.id, 120)
    ids = list(session.scalars(select(Clip.id).where(Clip.project_id == project.id).order_by(Clip.id)))
    masks: dict[int, int | None] = {}
    for i, clip_id in enumerate(ids):
        mask = None if i % 10 == 0 else (0 if i % 3 == 0 else (1 << (i % len(FLAG_NAMES))) | (i % 2))
        masks[clip_id] = mask
        session.execute(update(Clip).where(Clip.id == clip_id).values(flag_mask=mask))
    session.commit()

    def listed(flag: str) -> set[int]:
        rows, cursor = list_clips(session, project.id, filters=ClipFilter(flag=flag), limit=500)
        assert cursor is None
        return {c.id for c in rows}

    for name, bit in FLAG_BITS.items():
        assert listed(name) == {c for c, m in masks.items() if m and m & bit}, name
    expected = {
        "any": {c for c, m in masks.items() if m},
        "none": {c for c, m in masks.items() if m == 0},
        "clean": {c for c, m in masks.items() if m is not None and not m & HARD_MASK},
        "unanalysed": {c for c, m in masks.items() if m is None},
    }
    assert set(expected) == set(FLAG_FILTERS)
    for flag, want in expected.items():
        assert want and listed(flag) == want, flag


def test_masks_name_their_flags() -> None:
    assert names_of(mask_of(["loop", "copied"])) == ["loop", "copied"]
    assert names_of(None) == [] and names_of(0) == []
    assert HARD_MASK == mask_of(HARD_FLAGS)


def test_the_api_flag_names_are_the_engine_s() -> None:
    from typing import get_args

    from app.api.clips import FlagFilter
    from app.schemas.clips import FlagName

    assert list(get_args(FlagName)) == list(FLAG_NAMES)
    assert list(get_args(FlagFilter)) == [*FLAG_NAMES, *FLAG_FILTERS]
