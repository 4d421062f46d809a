from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.storage import Storage, sanitize_display_name

NASTY = [
    "../../etc/passwd",
    "/abs.flac",
    "a\\..\\b.flac",
    "x.flac\0.php",
    "CON",
    "\u202eflac.exe",
    "..",
    "...",
    "",
    " . ",
    "e\u0301.flac",  # NFD
    "ü" * 300 + ".flac",
]


@pytest.mark.parametrize("name", NASTY)
def test_sanitized_names_are_safe(name: str) -> None:
    _assert_safe(sanitize_display_name(name))


def test_traversal_keeps_only_the_last_component() -> None:
    assert sanitize_display_name("../../etc/x.flac") == "x.flac"
    assert sanitize_display_name("C:\\music\\song.wav") == "song.wav"


def test_long_names_keep_their_extension() -> None:
    name = sanitize_display_name("ü" * 300 + ".flac")
    assert name.endswith(".flac") and len(name.encode()) <= 255


@given(st.text(max_size=600))
def test_sanitizer_properties(name: str) -> None:
    out = sanitize_display_name(name)
    _assert_safe(out)
    assert sanitize_display_name(out) == out  # idempotent


def _assert_safe(out: str) -> None:
    assert out
    assert "/" not in out and "\\" not in out and "\0" not in out
    assert ".." not in out
    assert len(out.encode("utf-8")) <= 255


def test_keys_cannot_leave_the_media_root(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "media")
    for key in ["../x", "/etc/passwd", "a/../../x", "a\\b", "", "a\0b"]:
        with pytest.raises(ValueError):
            storage.path(key)
    key = storage.new_key(3, "sources", ".FLAC")
    assert key.startswith("projects/3/sources/") and key.endswith(".flac")
    assert storage.path(key).is_relative_to(storage.root)


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "media")
    key = storage.new_key(1, "clips", ".wav")
    storage.write_bytes(key, b"abc")
    assert storage.path(key).read_bytes() == b"abc"
    assert list(storage.tmp_dir.iterdir()) == []
    storage.delete(key)
    storage.delete(key)  # deleting twice is fine
    assert not storage.path(key).exists()


def test_delete_project_removes_its_folder_only(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "media")
    a, b = storage.new_key(1, "clips", ".wav"), storage.new_key(2, "clips", ".wav")
    storage.write_bytes(a, b"a")
    storage.write_bytes(b, b"b")
    storage.delete_project(1)
    assert not storage.path(a).exists() and storage.path(b).exists()
