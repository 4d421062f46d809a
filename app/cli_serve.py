"""`albumbot web` and `albumbot migrate`: serving the catalog and API.

`up` (web + worker + demo) and `worker` belong here too once the worker package provides its
Celery app; they register the same way.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser(
        "web",
        help="serve the REST API (one role, for distributed use)",
        description="Migrate the catalog to the latest schema, then serve the API with uvicorn.",
    )
    _common(web)
    web.add_argument("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    web.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    web.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    web.set_defaults(handler=run_web)

    migrate = sub.add_parser(
        "migrate",
        help="bring the catalog database to the latest schema",
        description="Run Alembic migrations against ALBUMBOT_DATABASE_URL (or the data dir's SQLite).",
    )
    _common(migrate)
    migrate.add_argument("--revision", default="head", help="target revision (default %(default)s)")
    migrate.set_defaults(handler=run_migrate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data directory (default: ALBUMBOT_DATA_DIR or ./data)")


def run_migrate(args: argparse.Namespace) -> int:
    from app.migrate import upgrade
    from app.settings import get_settings

    settings = get_settings(data_dir=args.data_dir)
    upgrade(settings, args.revision)
    logger.info("catalog at %s is at revision %s", _redacted(settings.database_url), args.revision)
    return 0


def run_web(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app
    from app.migrate import upgrade
    from app.settings import get_settings

    settings = get_settings(data_dir=args.data_dir)
    if not args.no_migrate:
        upgrade(settings)
    logger.info("serving http://%s:%d/api/v1 (catalog: %s)", args.host, args.port,
                _redacted(settings.database_url))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
