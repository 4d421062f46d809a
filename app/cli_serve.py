"""`albumbot up`, `web`, `worker` and `migrate`: serving the studio, the API and the workers.

`up` is the embedded studio on one machine: it migrates, optionally creates the demo, then runs
the web app and a worker per queue (gpu: training and generation; cpu: titles, covers, exports)
as child processes sharing one data directory (SQLite,
filesystem broker, media), and stops them all on Ctrl-C. `web` and `worker` start one role each
for the distributed shape (docker-compose.yml). Nothing here imports torch: the worker command
loads worker code only once it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.contract.queues import QUEUES

if TYPE_CHECKING:
    from app.settings import Settings

logger = logging.getLogger(__name__)

WORKER_STOP_S = 60.0  # a running job stops between two steps and hands itself back to the queue
WEB_STOP_S = 10.0
READY_TIMEOUT_S = 120.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser(
        "up",
        help="the embedded studio: web app + workers + SQLite + embedded broker",
        description=(
            "Migrate the catalog, then run the web app and two single-process workers (one for "
            "the gpu queue: training and generation; one for the cpu queue: titles, covers, "
            "exports) as child processes, all data under one directory. Ctrl-C stops everything; "
            "a training run in progress hands itself back to the queue and continues at the next "
            "start."
        ),
        epilog="Example: albumbot up --demo --port 8000 --data-dir ./data",
    )
    _common(up)
    _listen(up)
    up.add_argument(
        "--demo",
        action="store_true",
        help="create the demo project (synthesized album, titles, cover) and train it (tiny)",
    )
    up.set_defaults(handler=run_up)

    web = sub.add_parser(
        "web",
        help="serve the REST API (one role, for distributed use)",
        description="Migrate the catalog to the latest schema, then serve the API with uvicorn.",
    )
    _common(web)
    _listen(web)
    web.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    web.set_defaults(handler=run_web)

    worker = sub.add_parser(
        "worker",
        help="run a Celery worker (one role, for distributed use)",
        description=(
            "Consume jobs from the broker (ALBUMBOT_BROKER_URL, or the embedded broker in the data "
            "dir). Run one gpu-queue worker per GPU with --concurrency 1, or one per machine "
            "with --gpus all: it trains each run on as many of its GPUs as the run asks for "
            "(the run config's `gpus`), data-parallel, and generates on the first."
        ),
        epilog="Examples:\n"
        "  albumbot worker --queues gpu --concurrency 1\n"
        "  albumbot worker --queues gpu --concurrency 1 --gpus all   # one worker, 8 GPUs\n"
        "  albumbot worker --queues cpu --concurrency 4",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(worker)
    worker.add_argument(
        "--queues", default=",".join(QUEUES), help="comma-separated queues (default %(default)s)"
    )
    worker.add_argument(
        "--concurrency", type=int, default=1, help="pool processes (default %(default)s)"
    )
    worker.add_argument(
        "--pool", choices=("prefork", "solo"), default="prefork",
        help="prefork runs jobs in a child process (default); solo in the main process",
    )
    worker.add_argument(
        "--name", default="albumbot@%h",
        help="Celery node name, unique in the cluster (default %(default)s; %%h is the host)",
    )
    worker.add_argument(
        "--gpus", metavar="all|N",
        help="devices one training run may use, data-parallel: all the CUDA devices, or the "
        "first N; without CUDA, N CPU processes (default: ALBUMBOT_GPUS or 1)",
    )
    worker.add_argument("--loglevel", default="INFO", help="(default %(default)s)")
    worker.set_defaults(handler=run_worker)

    migrate = sub.add_parser(
        "migrate",
        help="bring the catalog database to the latest schema",
        description=(
            "Run Alembic migrations against ALBUMBOT_DATABASE_URL (or the data dir's SQLite)."
        ),
    )
    _common(migrate)
    migrate.add_argument("--revision", default="head", help="target revision (default %(default)s)")
    migrate.set_defaults(handler=run_migrate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="data directory (default: ALBUMBOT_DATA_DIR or ./data)"
    )


def _listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")


def run_migrate(args: argparse.Namespace) -> int:
    from app.migrate import upgrade
    from app.settings import get_settings

    settings = get_settings(data_dir=args.data_dir)
    upgrade(settings, args.revision)
    logger.info("catalog at %s is at revision %s", _redacted(settings.database_url), args.revision)
    return 0


def run_web(args: argparse.Namespace) -> int:
    import uvicorn

    from app.exposure import exposed_settings
    from app.main import create_app
    from app.migrate import upgrade
    from app.settings import get_settings

    # Off loopback, never an open API: the configured token, or one generated and printed.
    settings = exposed_settings(get_settings(data_dir=args.data_dir), args.host)
    if not args.no_migrate:
        upgrade(settings)
    logger.info("serving http://%s:%d/api/v1 (catalog: %s; token: %s)", args.host, args.port,
                _redacted(settings.database_url),
                "required" if settings.api_token else "none, loopback only")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, **uvicorn_limits(settings))
    return 0


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's own limits on slow or greedy clients (the body deadline is app/body_timeout)."""
    return {
        "log_level": "info",
        "h11_max_incomplete_event_size": settings.max_header_bytes,  # request line + headers
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": WEB_STOP_S,
    }


def run_worker(args: argparse.Namespace) -> int:
    from app.settings import get_settings

    # ValueError: app.cli reports it as a one-line usage error (even when run as `-m app.cli`).
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if not queues or unknown:
        raise ValueError(f"--queues takes {' and/or '.join(QUEUES)}, got {args.queues!r}")
    if args.concurrency < 1:
        raise ValueError(f"--concurrency must be >= 1, got {args.concurrency}")
    gpus = args.gpus
    if gpus is not None and not (gpus == "all" or (gpus.isdigit() and int(gpus) >= 1)):
        raise ValueError(f"--gpus takes 'all' or a count >= 1, got {gpus!r}")
    settings = get_settings(data_dir=args.data_dir, gpus=gpus)
    from worker.celery_app import make_celery  # imports torch (never CUDA) only now

    app = make_celery(settings)
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(queues)}",
            f"--concurrency={args.concurrency}",
            f"--pool={args.pool}",
            f"--hostname={args.name}",
            f"--loglevel={args.loglevel}",
            # No mingle/gossip: jobs never rely on revokes, and startup needs no peer round trip.
            "--without-mingle",
            "--without-gossip",
        ]
    )
    return 0


def run_up(args: argparse.Namespace) -> int:
    from app.migrate import upgrade
    from app.settings import get_settings

    settings = get_settings(data_dir=args.data_dir)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = get_settings(data_dir=data_dir)
    upgrade(settings)
    if args.demo:
        from app.demo import ensure_demo

        demo = ensure_demo(settings)
        logger.info("demo project %d, run %d (%s)", demo.project_id, demo.run_id, demo.status)

    env = {**os.environ, "ALBUMBOT_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-m", "app.cli"]
    # Two single-process workers rather than one serving both queues: a training run holds the
    # gpu worker for minutes to hours, and titles, covers and exports (cpu queue) should not
    # wait behind it.
    commands = {
        f"worker-{queue}": [
            *cli, "worker", "--queues", queue, "--concurrency", "1",
            "--name", f"albumbot-{queue}@%h",
        ]
        for queue in QUEUES
    } | {
        "web": [*cli, "web", "--no-migrate", "--host", args.host, "--port", str(args.port)],
    }
    stop_signal: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_signal.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            # Own session each: Ctrl-C reaches only this process, which stops the children in
            # order; and they die with it should it be killed outright.
            children[name] = subprocess.Popen(
                command, env=env, start_new_session=True, preexec_fn=_die_with_parent
            )
        url = f"http://{_display_host(args.host)}:{args.port}/"
        if _wait_ready(url + "healthz", children, stop_signal):
            docs = f"{url}api/v1/docs"
            sys.stdout.write(f"albumbot studio: {url}  (API docs: {docs}; Ctrl-C stops)\n")
            sys.stdout.flush()
        while not stop_signal:
            exited = {n: p.returncode for n, p in children.items() if p.poll() is not None}
            if exited:
                logger.error("stopping: %s exited (%s)", ", ".join(exited), exited)
                return 1
            time.sleep(0.2)
        logger.info("stopping (signal %d)", stop_signal[0])
        return 0
    finally:
        _stop(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_ready(url: str, children: dict[str, subprocess.Popen[bytes]], stop: list[int]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and not stop:
        if any(p.poll() is not None for p in children.values()):
            return False
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        time.sleep(0.2)
    return False


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child's process group (workers first: a worker hands its job back), then
    wait; SIGKILL whatever is left after the grace period, so nothing is orphaned."""
    order = sorted(children, key=lambda name: name == "web")  # workers, then web
    for name in order:
        if children[name].poll() is None:
            children[name].send_signal(signal.SIGTERM)  # the main process: a warm shutdown
    for name in order:
        process = children[name]
        grace = WEB_STOP_S if name == "web" else WORKER_STOP_S
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0f s; killing it", name, grace)
        _signal_group(process, signal.SIGKILL)  # also any grandchild still in its group
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM when the `up` process dies."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
