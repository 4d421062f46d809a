"""Safe by default: the web service refuses to be an open studio on the network.

On a loopback address the API may stay open (the embedded, single-user studio). On any other
address it needs `ALBUMBOT_API_TOKEN`; without one, a random token is generated on the first
start, kept in `<data dir>/api_token` (mode 0600, written to a temp file and renamed) and printed
once on stdout so the operator can copy it; later starts reuse it and print only where it is.
The token never goes through `logging` (tests/app/test_exposure.py reads the logs).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from pathlib import Path

from app.settings import Settings

TOKEN_FILE = "api_token"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; an empty host or 0.0.0.0 / :: listen everywhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE


def exposed_settings(settings: Settings, host: str) -> Settings:
    """The settings the web service runs with on `host`: unchanged on loopback or with a token;
    otherwise with the token from the data dir, generated (and printed) the first time."""
    if settings.api_token is not None or is_loopback(host):
        return settings
    path = token_path(settings)
    if path.exists():
        token = path.read_text().strip()
        if token:
            sys.stdout.write(f"albumbot: API token in {path} (listening on {host})\n")
            sys.stdout.flush()
            return settings.model_copy(update={"api_token": token})
    token = secrets.token_urlsafe(32)
    _write_private(path, token)
    sys.stdout.write(
        f"albumbot: listening on {host} without ALBUMBOT_API_TOKEN; generated one "
        f"(kept in {path}):\n{token}\n"
    )
    sys.stdout.flush()
    return settings.model_copy(update={"api_token": token})


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (text + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
