"""A running radio for the radio tests: an embedded stack (SQLite, filesystem broker, a real
worker process), a `tiny` run trained for one epoch, and the web app served by uvicorn on a
free loopback port (the stream is real HTTP; a restart is a new server on the same catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.main import create_app
from tests.web.conftest import LiveServer
from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import new_project, start_run, tiny_run, wait_run


@dataclass
class Trained:
    stack: Stack
    run_id: int
    project_id: int

    def server(self) -> LiveServer:
        """A fresh web app process-alike (its own engine and state) over the same catalog."""
        return LiveServer(create_app(self.stack.settings))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    data_dir = tmp_path_factory.mktemp("radio")
    settings, env = make_stack(data_dir)
    for stack in running_stack(settings, env, data_dir):
        project_id = new_project(stack.client, "Radio album")
        run = start_run(stack.client, project_id, tiny_run(1, clips=0))
        wait_run(stack.client, run["id"], ("succeeded",), timeout=180)
        yield Trained(stack, run["id"], project_id)
