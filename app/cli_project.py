"""`albumbot project export|import`: a project archive to or from a file, straight against the
catalog and media of a data directory (no web server needed; the same services as the API)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    project = sub.add_parser(
        "project", help="export a project as one archive, or import one",
        description="Move a whole project (catalog rows, sources, checkpoints, clips, songs, "
        "covers, albums) between albumbot installs as one zip with a manifest of SHA-256 hashes.",
    )
    verbs = project.add_subparsers(dest="verb", metavar="VERB", required=True)
    export = verbs.add_parser("export", help="write a project's archive to a file")
    export.add_argument("project_id", type=int, help="the project's id")
    export.add_argument("out", type=Path, help="the zip to write (replaced atomically)")
    export.add_argument("--checkpoints", default="all",
                        help="checkpoint files to include: all, none, or ids like 3,7")
    export.add_argument("--data-dir", type=Path, help="data directory (default: ./data)")
    export.set_defaults(handler=run_export)
    imp = verbs.add_parser("import", help="add the project of an archive as a new project")
    imp.add_argument("archive", type=Path, help="a zip made by `project export` or the API")
    imp.add_argument("--data-dir", type=Path, help="data directory (default: ./data)")
    imp.set_defaults(handler=run_import)


def _open(data_dir: Path | None):  # type: ignore[no-untyped-def]  # (settings, sessions, storage)
    from app.db import make_engine, session_factory
    from app.migrate import upgrade
    from app.settings import get_settings
    from app.storage import Storage

    settings = get_settings(data_dir=data_dir)
    upgrade(settings)
    storage = Storage(settings.media_dir)
    storage.ensure()
    return settings, session_factory(make_engine(settings)), storage


def run_export(args: argparse.Namespace) -> int:
    from app.services import project_archive

    _, sessions, storage = _open(args.data_dir)
    choice: project_archive.CheckpointChoice
    if args.checkpoints in ("all", "none"):
        choice = args.checkpoints
    else:
        choice = frozenset(int(i) for i in str(args.checkpoints).split(","))
    with sessions() as session:
        snap = project_archive.snapshot(session, storage, args.project_id, checkpoints=choice)
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            for chunk in project_archive.stream_archive(snap, storage):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("project %d: %d files, %d missing at home -> %s", args.project_id,
                len(snap.keys), len(snap.missing), out)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.services import archive_import
    from app.services.errors import DomainError

    settings, sessions, storage = _open(args.data_dir)
    with sessions() as session:
        try:
            made = archive_import.import_archive(
                session, storage, args.archive, max_bytes=settings.max_request_bytes
            )
        except DomainError as exc:
            sys.stderr.write(f"albumbot project import: error: {exc.message}\n")
            return 2
        summary = {"project_id": made.project.id, "counts": made.counts, "files": made.files}
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0
