import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.audio.names import safe_name

HOSTILE = [
    "../../x",
    "..",
    ".",
    "/etc/passwd",
    "C:\\Windows\\system32",
    "a\x00b",
    "name\u202egnp.exe",  # right-to-left override
    "con",
    "LPT1.txt",
    " \t\n ",
    "x" * 300,
    "é" * 300,
    "\U0001f3b5" * 100,  # 4-byte characters
    "e\u200d\u0301",  # a format character between a base and its combining mark
]


def _check(name: str, max_bytes: int = 200) -> None:
    assert name
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".", "..")
    assert ".." not in name.replace("\\", "/").split("/")
    assert len(name.encode("utf-8")) <= max_bytes
    assert unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)
    assert name == name.strip(" .") or name.endswith((".flac", ".mp3"))


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_become_safe_names(title: str) -> None:
    _check(safe_name(title))
    with_ext = safe_name(title, ext=".flac")
    _check(with_ext)
    assert with_ext.endswith(".flac") and len(with_ext) > len(".flac")


def test_examples() -> None:
    assert safe_name("../../x") == "_.._x"
    assert safe_name("AC/DC: Back in Black?") == "AC_DC_ Back in Black_"
    assert safe_name("") == "Untitled"
    assert safe_name("con") == "_con"
    assert safe_name("Cafe\u0301") == "Café"  # NFC
    long = safe_name("x" * 300, ext=".flac")
    assert long == "x" * 195 + ".flac"
    assert len(safe_name("é" * 300, ext=".flac").encode()) == 199  # never splits a character


def test_extension_too_long_is_refused() -> None:
    with pytest.raises(ValueError):
        safe_name("x", ext="." + "a" * 300)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
@example("..")
@example("e\u200d\u0301")
def test_safe_name_properties(title: str) -> None:
    name = safe_name(title)
    _check(name)
    assert safe_name(name) == name  # idempotent


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8") | st.sampled_from("/\\.:\x00\u202e\u0301 "),
        max_size=300,
    )
)
def test_safe_name_with_extension_properties(title: str) -> None:
    name = safe_name(title, ext=".flac")
    _check(name)
    assert name.endswith(".flac")
    stem = name[: -len(".flac")]
    assert safe_name(stem, ext=".flac") == name
