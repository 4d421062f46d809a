from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from app.http_range import Full, Partial, Unsatisfiable, if_range_allows, parse_range


def test_examples_from_rfc_9110() -> None:
    assert parse_range("bytes=0-99", 1000) == Partial(0, 99)
    assert parse_range("bytes=500-", 1000) == Partial(500, 999)
    assert parse_range("bytes=-200", 1000) == Partial(800, 999)
    assert parse_range("bytes=-5000", 1000) == Partial(0, 999)  # suffix longer than the file
    assert parse_range("bytes=0-5000", 1000) == Partial(0, 999)
    assert parse_range("bytes=1000-", 1000) == Unsatisfiable()
    assert parse_range("bytes=-0", 1000) == Unsatisfiable()
    assert parse_range("bytes=0-0", 0) == Unsatisfiable()


def test_what_cannot_be_served_is_ignored() -> None:
    assert parse_range(None, 10) == Full()
    assert parse_range("items=0-1", 10) == Full()  # unknown unit
    assert parse_range("bytes=5-1", 10) == Full()  # malformed
    assert parse_range("bytes=abc", 10) == Full()
    assert parse_range("bytes=0-1,4-5", 10) == Full()  # several satisfiable ranges
    assert parse_range("bytes=0-10,5000-6000", 1024) == Partial(0, 10)


def test_ten_thousand_ranges_are_cheap() -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(10_000))
    start = time.perf_counter()
    assert parse_range(header, 10**9) == Full()
    assert time.perf_counter() - start < 0.1


def test_huge_numbers_do_not_crash() -> None:
    assert parse_range("bytes=" + "9" * 5000 + "-", 100) == Unsatisfiable()
    assert parse_range("bytes=0-" + "9" * 5000, 100) == Partial(0, 99)


def test_if_range() -> None:
    assert if_range_allows(None, etag='"a"', last_modified=0)
    assert if_range_allows('"a"', etag='"a"', last_modified=0)
    assert not if_range_allows('"b"', etag='"a"', last_modified=0)
    assert not if_range_allows('W/"a"', etag='"a"', last_modified=0)
    assert if_range_allows("Thu, 01 Jan 1970 00:00:10 GMT", etag='"a"', last_modified=10.5)
    assert not if_range_allows("Thu, 01 Jan 1970 00:00:09 GMT", etag='"a"', last_modified=10.5)
    assert not if_range_allows("garbage", etag='"a"', last_modified=10)


_spec = st.one_of(
    st.tuples(st.integers(0, 3000), st.none()).map(lambda t: f"{t[0]}-"),
    st.tuples(st.integers(0, 3000), st.integers(0, 3000)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.integers(0, 3000).map(lambda n: f"-{n}"),
    st.text(max_size=6),
)


@given(size=st.integers(0, 2000), specs=st.lists(_spec, min_size=1, max_size=5))
def test_ranges_stay_inside_the_file(size: int, specs: list[str]) -> None:
    decision = parse_range("bytes=" + ",".join(specs), size)
    if isinstance(decision, Partial):
        assert 0 <= decision.start <= decision.end < size


@given(size=st.integers(0, 2000), pairs=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), min_size=1, max_size=5))
def test_416_exactly_when_nothing_is_satisfiable(size: int, pairs: list[tuple[int, int]]) -> None:
    specs = [f"{min(a, b)}-{max(a, b)}" for a, b in pairs]
    decision = parse_range("bytes=" + ",".join(specs), size)
    satisfiable = [a for a, b in pairs if min(a, b) < size]
    assert isinstance(decision, Unsatisfiable) == (not satisfiable)
