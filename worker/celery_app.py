"""The Celery app factory: `make_celery(settings)`.

Queues: `gpu` (training, clip generation; one worker process per GPU) and `cpu` (dataset
preparation, peaks, features, renders and exports as they move off the gpu queue).

Delivery is at least once, effects exactly once (DESIGN.md "Jobs"): late acks, so a message is
acknowledged only after its task returned; `reject_on_worker_lost`, so a pool child killed
mid-task (OOM killer, segfault) puts its message back instead of losing it; prefetch 1, so a busy
worker holds no second long job hostage. The Job row, not the result backend, records what
happened (there is no result backend). A redelivered or duplicated message is harmless because a
task first claims its job's lease (worker/lease.py); a poison message stops after
`max_attempts` claims. The sweeper (worker/sweeper.py) revives jobs whose message was lost.

Process model: the main process consumes messages and runs the sweeper; it imports torch but
never touches CUDA, so prefork children can initialise CUDA themselves (pytorch#68861,
celery#3402). Each child builds its own engine and storage in `worker_process_init`, after
disposing the pooled connections it inherited (`engine.dispose(close=False)`, RELIABILITY 38).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from typing import Any

from billiard.exceptions import TimeLimitExceeded
from celery import Celery, signals
from kombu.entity import Exchange, Queue

from app.contract.kinds import KINDS
from app.contract.queues import CPU, QUEUES
from app.settings import Settings, broker_config, ensure_broker_dirs
from worker.runtime import Runtime
from worker.sweeper import Sweeper
from worker.temp_sweep import sweep_clip_leftovers, sweep_temp
from worker.time_limits import over_limit_reason, task_annotations
from worker.watchdog import Busy, Watchdog, fail_over_limit

logger = logging.getLogger(__name__)

# Where each task goes by default (a job that routes itself, e.g. a generating auto album, is
# published with its queue named).
TASK_ROUTES = {kind.task: {"queue": kind.queue} for kind in KINDS.values()}
EMBEDDED_POLL_S = 0.25  # how often the filesystem broker looks for new message files


def celery_config(settings: Settings) -> dict[str, Any]:
    """The worker's Celery settings for `settings` (a plain dict, so tests can guard it)."""
    broker = broker_config(settings)
    vt = settings.visibility_timeout_s
    transport = dict(broker.transport_options)
    # Redis redelivers an unacked message after this long; Celery reads it from three places and
    # they must agree (RELIABILITY A1, celery#7651, #9339). It is above one training segment's
    # length by default, and a longer task is still safe: its redelivered copy finds a live
    # lease and is dropped. The filesystem broker ignores it.
    transport["visibility_timeout"] = vt
    if settings.embedded_broker:
        transport["polling_interval"] = EMBEDDED_POLL_S
    return {
        "broker_url": broker.url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"visibility_timeout": vt},
        "visibility_timeout": vt,
        "broker_connection_retry_on_startup": True,
        "result_backend": None,
        "task_ignore_result": True,  # the Job row is the record (RELIABILITY 14)
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,  # a task that raised failed its job for good
        "task_track_started": True,
        # After a pool child dies, how long to wait for a result it might still have sent before
        # declaring WorkerLostError (billiard's default is 10 s). There are no results to wait
        # for, and until the loss is declared the dead job blocks the prefetch slot.
        "worker_lost_wait": 1.0,
        "worker_prefetch_multiplier": 1,
        # On a lost broker connection keep training (False), chosen explicitly: the lease, not
        # the message, says who owns the job. True (Celery 6's planned default) terminates the
        # task and leaves its redelivery to a broker that just crashed; without persistence the
        # message is gone and the run restarts from its checkpoint at best (RELIABILITY 6).
        # With False the run finishes once; its ack fails with the dead channel, so a copy may
        # be redelivered later and is dropped by the claim (the job is finished), and if this
        # worker dies too, the sweeper revives the job (tests/worker/test_chaos_redis.py).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Each queue on its own direct exchange, named like the queue: what the web process's
        # `send_task(name, queue=...)` declares, so both sides route a message the same way.
        "task_queues": tuple(
            Queue(q, Exchange(q, "direct"), routing_key=q)  # type: ignore[no-untyped-call]
            for q in QUEUES
        ),
        "task_default_queue": CPU,
        "task_create_missing_queues": False,
        "task_routes": TASK_ROUTES,
        "worker_send_task_events": not settings.embedded_broker,  # for Flower
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        # Soft and hard time limits of every task that must end by itself (worker/time_limits.py).
        "task_annotations": task_annotations(settings),
    }


@dataclass
class WorkerState:
    """This process's albumbot resources, attached to the app (no module-level state)."""

    settings: Settings
    runtime: Runtime | None = None
    controller: Any = None  # celery.worker.WorkController, in the main process
    main_pid: int | None = None  # the worker's main process
    sweeper: Sweeper | None = None
    watchdog: Watchdog | None = None  # the main process of a prefork pool only


def make_celery(settings: Settings) -> Celery:
    """The worker app for `settings`, with the task modules and process hooks registered."""
    ensure_broker_dirs(settings)
    tasks = [
        "worker.tasks", "worker.album_tasks", "worker.analysis_tasks", "worker.radio_tasks",
        "worker.retention_tasks",
    ]
    app = Celery("albumbot", include=tasks)
    app.conf.update(celery_config(settings))
    state = WorkerState(settings)
    app.albumbot = state
    _connect_signals(app, state)
    return app


def runtime_of(app: Celery) -> Runtime:
    """The current process's Runtime (built on first use: the main process, or a solo pool)."""
    state: WorkerState = app.albumbot
    if state.runtime is None:
        state.runtime = Runtime.create(state.settings, _publisher(app))
    return state.runtime


def _publisher(app: Celery) -> Any:
    def publish(task: str, job_id: int, queue: str) -> None:
        app.send_task(task, args=[job_id], queue=queue)

    return publish


def _connect_signals(app: Celery, state: WorkerState) -> None:
    uid = f"albumbot-{id(app)}"

    def on_worker_init(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is app:
            state.controller, state.main_pid = sender, os.getpid()
            # Before any job runs here: what killed writes left in the media temp folder.
            sweep_temp(state.settings.media_dir / ".tmp")
            sweep_clip_leftovers(state.settings.media_dir)

    def on_process_init(sender: Any = None, **_: Any) -> None:
        if os.getpid() == state.main_pid:
            return  # the solo pool sends this too, in the main process: nothing was forked
        # A prefork child, just forked: forget the parent's connections, build our own.
        if state.runtime is not None:
            state.runtime.forget_inherited_connections()
        state.runtime = Runtime.create(state.settings, _publisher(app))
        state.runtime.pool_child = True
        state.sweeper = None  # threads do not survive a fork; the sweeper is the parent's

    def on_ready(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        state.sweeper = Sweeper(runtime_of(app), sender.hostname)
        state.sweeper.start()
        if _is_solo(state.controller):
            logger.warning("solo pool: a wedged job cannot be killed without killing the worker; "
                           "stall detection and force stop need the prefork pool")
            return
        state.watchdog = Watchdog(runtime_of(app), sender.hostname, _busy_jobs)
        state.watchdog.start()

    def on_task_failure(sender: Any = None, exception: Any = None, args: Any = None,
                        **_: Any) -> None:
        # The pool killed a child over its hard time limit; the main process records why.
        if os.getpid() != state.main_pid or not isinstance(exception, TimeLimitExceeded):
            return
        controller, name = state.controller, getattr(sender, "name", None)
        kind = next((k for k in KINDS.values() if k.task == name), None)
        if controller is None or kind is None or not args:
            return
        fail_over_limit(runtime_of(app), controller.hostname, int(args[0]),
                        over_limit_reason(state.settings, kind, hard=True))

    def on_shutting_down(sender: Any = None, how: str = "", **_: Any) -> None:
        controller = state.controller
        if controller is None or getattr(controller, "hostname", None) != sender:
            return
        if state.sweeper is not None:
            state.sweeper.stop(timeout=0)
        if state.watchdog is not None:
            state.watchdog.stop()
        if state.runtime is not None:
            state.runtime.shutdown.set()  # a solo pool runs the task in this very process
        # Ask the pool children that are running a job to stop it between two steps: warm
        # shutdown would otherwise wait for a training run to finish, however long it takes.
        for pid in _busy_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signals.worker_init.connect(on_worker_init, weak=False, dispatch_uid=f"{uid}-init")
    signals.worker_process_init.connect(on_process_init, weak=False, dispatch_uid=f"{uid}-proc")
    signals.worker_ready.connect(on_ready, weak=False, dispatch_uid=f"{uid}-ready")
    signals.worker_shutting_down.connect(on_shutting_down, weak=False, dispatch_uid=f"{uid}-stop")
    signals.task_failure.connect(on_task_failure, weak=False, dispatch_uid=f"{uid}-failure")


def _is_solo(controller: Any) -> bool:
    pool_cls = getattr(controller, "pool_cls", None)
    return "solo" in str(getattr(pool_cls, "__module__", pool_cls))


def _busy_jobs() -> list[Busy]:
    """The jobs pool children run now, and their pids (in the worker's main process). Every
    albumbot task takes one argument, its job id."""
    from celery.worker import state as worker_state

    try:
        requests = list(worker_state.active_requests)
    except RuntimeError:  # the consumer changed the set meanwhile: look again next time
        return []
    busy = []
    for request in requests:
        pid, args = getattr(request, "worker_pid", None), getattr(request, "args", None)
        if pid and pid != os.getpid() and args and isinstance(args[0], int):
            busy.append(Busy(args[0], pid))
    return busy


def _busy_children() -> list[int]:
    """Pids of pool children executing a task now (in the worker's main process)."""
    from celery.worker import state as worker_state

    pids = {getattr(request, "worker_pid", None) for request in worker_state.active_requests}
    return sorted(pid for pid in pids if pid and pid != os.getpid())
