"""Configuration guard (RELIABILITY A1): fails on any drift of the delivery settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings
from worker.celery_app import make_celery
from worker.clips import derive_seed, plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("broker", ["", "redis://127.0.0.1:6379/9"])
def test_delivery_settings(tmp_path: Path, broker: str) -> None:
    settings = Settings(data_dir=tmp_path, broker_url=broker, visibility_timeout_s=5400)
    conf = make_celery(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_track_started is True
    assert conf.task_always_eager is False
    # One visibility timeout, in every place Celery reads it.
    assert conf.broker_transport_options["visibility_timeout"] == 5400
    assert conf.result_backend_transport_options["visibility_timeout"] == 5400
    assert conf.visibility_timeout == 5400
    # The lease, not the broker connection, decides who owns a job (A6), chosen explicitly.
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert conf.result_backend is None and conf.task_ignore_result is True


def test_queues_and_routes(tmp_path: Path) -> None:
    app = make_celery(Settings(data_dir=tmp_path))
    queues = {q.name: q for q in app.conf.task_queues}
    assert set(queues) == {"gpu", "cpu"}
    for name, queue in queues.items():  # what the web process's send_task(queue=name) declares
        assert (queue.exchange.name, queue.exchange.type, queue.routing_key) == (name, "direct", name)
    assert app.conf.task_routes["run-training"] == {"queue": "gpu"}
    assert app.conf.task_routes["generate-clips"] == {"queue": "gpu"}
    app.loader.import_default_modules()
    assert {"run-training", "generate-clips"} <= set(app.tasks)


def test_the_worker_app_touches_no_cuda_and_the_web_never_eager(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from app.settings import Settings\n"
        "from worker.celery_app import make_celery\n"
        f"app = make_celery(Settings(data_dir={str(tmp_path)!r}))\n"
        "app.loader.import_default_modules()\n"
        "import torch\n"
        "print(torch.cuda.is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    sources = [p for d in ("app", "worker") for p in (ROOT / d).rglob("*.py")]
    assert not [p for p in sources if "task_always_eager" in p.read_text()]


def test_clip_seeds_are_deterministic_per_run_epoch_and_index() -> None:
    clips = plan(0, 10, 3, 1)
    assert [c.index for c in clips] == list(range(10))
    assert plan(0, 10, 3, 1) == clips  # a rerun regenerates identical clips
    seeds = {c.seed for c in clips} | {c.seed for c in plan(0, 10, 3, 2)}
    assert len(seeds) == 20 and all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(3, 1, 0) != derive_seed(4, 1, 0)
    # a clip's seed is its own: the same whichever range of clips it is planned in
    assert plan(5, 3, 9) == plan(0, 8, 9)[5:]
