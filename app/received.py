"""A file handed to the catalog: already on the media filesystem, under a temporary name.

Services take these (app/services/sources.py, images.py) whatever brought the file: an HTTP
upload streamed by app/uploads.py, the demo's synthesized album (app/demo.py), or a test. Keeping
it apart from the HTTP layer means a service never depends on how the bytes arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ReceivedFile:
    field: str  # the form field (or role) it came in under
    display_name: str  # sanitized client filename; never used as a path
    path: Path  # temp file under Storage.tmp_dir; accepting it is an os.replace
    size: int = 0  # bytes
