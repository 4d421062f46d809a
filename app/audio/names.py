"""File and zip member names from user text (song titles, artist and album names).

`safe_name` turns any string into one path component that is safe to unpack on Linux, macOS and
Windows: NFC-normalised, no separators or NUL, no control, format (e.g. right-to-left override)
or private-use characters, no leading/trailing dots or spaces, no Windows device names, never
empty, never ``.`` or ``..``, and at most `max_bytes` bytes of UTF-8 including the extension.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 200
FALLBACK = "Untitled"

# Characters Windows refuses in names, plus both separators; each becomes "_".
_REPLACE = frozenset('/\\:*?"<>|')
# Unicode categories dropped outright: controls, format characters (bidi overrides, zero-width
# joiners, BOM), lone surrogates (not encodable), private use, unassigned.
_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{p}{i}" for p in ("COM", "LPT") for i in "123456789¹²³"}
)


def safe_name(
    title: str, *, ext: str = "", max_bytes: int = MAX_NAME_BYTES, fallback: str = FALLBACK
) -> str:
    """One safe path component for `title`, ending with `ext` (e.g. ``".flac"``).

    The title part is cut at a character boundary so the UTF-8 of the whole name is at most
    `max_bytes`; the extension is always kept. An empty result becomes `fallback`. Applying it
    again to its own output (with ``ext=""``) changes nothing.
    """
    ext_bytes = len(ext.encode("utf-8"))
    if ext_bytes >= max_bytes:
        raise ValueError(f"extension {ext!r} leaves no room under {max_bytes} bytes")
    budget = max_bytes - ext_bytes
    name = title
    for _ in range(8):  # each pass only shrinks; two are enough in practice
        cleaned = _clean_once(name, budget)
        if cleaned == name:
            break
        name = cleaned
    if not name:
        name = _clean_once(fallback, budget) or "_"
    return name + ext


def _clean_once(text: str, budget: int) -> str:
    text = unicodedata.normalize("NFC", text)
    chars = []
    for ch in text:
        if ch in _REPLACE:
            chars.append("_")
        elif ch.isspace():  # tabs, newlines, NBSP, line separators...: one plain space
            chars.append(" ")
        elif unicodedata.category(ch) not in _DROP:
            chars.append(ch)
    # Dropping a format character can bring a combining mark next to its base: compose again.
    name = unicodedata.normalize("NFC", " ".join("".join(chars).split()))
    name = name.strip(" .")  # no hidden files, no "..", no trailing dot (Windows drops it)
    if name.split(".")[0].strip(" ").upper() in _WINDOWS_DEVICES:
        name = "_" + name
    return _truncate(name, budget).rstrip(" .")


def _truncate(text: str, budget: int) -> str:
    if len(text.encode("utf-8")) <= budget:
        return text
    used, cut = 0, 0
    for i, ch in enumerate(text):
        size = len(ch.encode("utf-8"))
        if used + size > budget:
            break
        used += size
        cut = i + 1
    return text[:cut]
