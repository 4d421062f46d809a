"""Publishing through the real Celery client on the embedded (filesystem) broker."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from app.queue import CeleryQueue
from app.settings import Settings, broker_config


def test_embedded_broker_message_names_the_task_and_job(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    queue = CeleryQueue(settings)
    try:
        queue.enqueue("run-training", 42, queue="gpu")
    finally:
        queue.close()
    folder = Path(broker_config(settings).transport_options["data_folder_out"])
    (message_file,) = list(folder.iterdir())
    message = json.loads(message_file.read_text())
    assert message["headers"]["task"] == "run-training"
    assert message["properties"]["delivery_info"]["routing_key"] == "gpu"
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, kwargs, _ = json.loads(body)
    assert args == [42] and kwargs == {}
