"""Media files under `<data_dir>/media`, addressed by storage keys.

A key is a relative POSIX path the server made up (`projects/7/sources/<uuid>.flac`); the catalog
stores keys, never absolute paths and never client filenames, so media can move or be mounted
elsewhere (another worker host) without touching rows. Client filenames survive only as sanitized
display names. Files appear atomically: written under `.tmp/` on the same filesystem, then moved
into place with `os.replace`, so a reader never sees half a file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import unicodedata
import uuid
from pathlib import Path, PurePosixPath

MAX_NAME_BYTES = 255
# The errors of media storage that is full or cannot be written: the reader's fix is on the
# host (free space, remount), not in the request or the job.
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY = {errno.EROFS}
FULL_BELOW_BYTES = 64 * 1024  # free space under which the media filesystem counts as full
# Characters that could steer a path or fool a reader: separators, NUL and other C0/C1 controls,
# and bidirectional overrides that make "exe.flac" display as "calf.exe".
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def storage_failure(exc: BaseException) -> str | None:
    """A readable reason when `exc` is media storage refusing a write, else None."""
    if not isinstance(exc, OSError) or exc.errno not in FULL | READ_ONLY:
        return None
    what = Path(exc.filename).name if isinstance(exc.filename, str) else ""
    where = f" while writing {what}" if what and not what.startswith(".") else ""
    if exc.errno in READ_ONLY:
        return f"media storage is read-only{where}; nothing was kept (remount it read-write)"
    return f"media storage is full{where}; nothing was kept (free some space and retry)"


def sanitize_display_name(name: str, *, fallback: str = "untitled") -> str:
    """A client filename made safe to show and to put in headers.

    The result has no `/`, `\\`, NUL, control or bidi-override characters and no `..`, is NFC,
    non-empty, at most 255 UTF-8 bytes, and sanitizing it again changes nothing. Only the last
    path component of the input is kept (`../../etc/x.flac` -> `x.flac`).
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Removing characters or cutting bytes can expose a new ".." or a composable pair, so repeat
    # until nothing changes (two rounds in practice); that also makes the function idempotent.
    for _ in range(8):
        before = name
        name = unicodedata.normalize("NFC", name)
        name = "".join(
            ch for ch in name if ch not in _BIDI and unicodedata.category(ch) not in ("Cc", "Cs")
        )
        name = _truncate_utf8(_clean_dots(name), MAX_NAME_BYTES)
        if name == before:
            break
    return _clean_dots(name) or fallback


def _clean_dots(name: str) -> str:
    while ".." in name:
        name = name.replace("..", ".")
    return name.strip(" .")


def _truncate_utf8(name: str, limit: int) -> str:
    """Cut to `limit` bytes, keeping the extension when there is room, never splitting a char."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = limit - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", errors="ignore")
    return stem + suffix


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (uploads and exports can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Storage:
    """Media root with atomic writes. Keys are validated so none can escape the root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.tmp_dir = self.root / ".tmp"

    def ensure(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_key(project_id: int, kind: str, suffix: str = "") -> str:
        """A fresh key for a project's file of one kind (`sources`, `images`, `clips`...)."""
        if suffix and not suffix.startswith("."):
            suffix = "." + suffix
        return f"projects/{int(project_id)}/{kind}/{uuid.uuid4().hex}{suffix.lower()}"

    def path(self, key: str) -> Path:
        """The absolute path of `key`. Raises ValueError for keys that leave the media root."""
        pure = PurePosixPath(key)
        if not key or pure.is_absolute() or ".." in pure.parts or "\\" in key or "\0" in key:
            raise ValueError(f"invalid storage key {key!r}")
        path = (self.root / pure).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"invalid storage key {key!r}")
        return path

    def temp_path(self, suffix: str = "") -> Path:
        """A new unique temporary file path on the media filesystem (not created)."""
        self.ensure()
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def put(self, src: Path, key: str) -> Path:
        """Move a finished temp file into place under `key` (atomic on one filesystem)."""
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
        return dest

    def write_bytes(self, key: str, data: bytes) -> Path:
        tmp = self.temp_path()
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return self.put(tmp, key)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def refusing_writes(self) -> OSError | None:
        """The error a write here gets now, if the media filesystem is read-only or full.

        For writers that lose the errno on the way (libsndfile's "System error", a truncated
        file found later by its decoder): the filesystem itself says what went wrong.
        """
        try:
            st = os.statvfs(self.root)
        except OSError:
            return None
        if st.f_flag & os.ST_RDONLY:
            return OSError(errno.EROFS, os.strerror(errno.EROFS))
        if st.f_bavail * st.f_frsize < FULL_BELOW_BYTES:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_project(self, project_id: int) -> None:
        shutil.rmtree(self.root / "projects" / str(int(project_id)), ignore_errors=True)

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size
