"""The layers keep their shape (DESIGN.md "Layout", README "Layout"), read from the sources with
`ast`, so nothing is imported or run:

- `model/` is pure: it never imports `app` or `worker`;
- `app/` never imports `worker`, except the CLI entry point that starts workers;
- `app/contract/` is torch-free and depends on nothing but itself and the engine's configs;
- the job runners of `worker/` read and write the catalog through app/services, not SQL;
- every module of `app/`, `worker/` and `model/` stays under 400 lines.

The page rules (no queries in app/web) are tests/web/test_layering_pages.py. Each checker is
also tested on deliberately wrong sources, so a rule that stopped catching would fail here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
APP_MAY_START_WORKERS = {"app/cli_serve.py"}  # `albumbot worker` builds the Celery worker app
RUNNERS = (
    "worker/runners.py", "worker/clips.py", "worker/datasets.py", "worker/album_runners.py",
    "worker/analysis.py",
)
CONTRACT_MAY_IMPORT = ("app.contract", "model.config")
SESSION_QUERIES = {"execute", "scalar", "scalars", "query", "get", "add", "delete", "merge"}


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import: `from a.b import c` gives `a.b.c` and `a.b`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def top(module: str) -> str:
    return module.split(".", 1)[0]


def forbidden_imports(source: str, *, forbid: set[str]) -> list[str]:
    return sorted({f"line {line}: {m}" for line, m in imports(source) if top(m) in forbid})


def contract_problems(source: str) -> list[str]:
    stdlib = {"__future__", "collections", "dataclasses", "functools", "types", "typing"}
    return sorted({
        f"line {line}: {m}"
        for line, m in imports(source)
        if top(m) not in stdlib and not m.startswith(CONTRACT_MAY_IMPORT)
    })


def runner_problems(source: str) -> list[str]:
    """SQL in a runner: sqlalchemy imports (beyond the Session type) and session queries."""
    problems = [
        f"line {line}: imports {m}"
        for line, m in imports(source)
        if top(m) == "sqlalchemy" and m not in ("sqlalchemy.orm", "sqlalchemy.orm.Session")
    ]
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and "session" in ast.unparse(node.func.value).lower()
        ):
            problems.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return problems


@pytest.mark.parametrize("path", sources("model"), ids=rel)
def test_the_engine_imports_neither_the_app_nor_the_workers(path: Path) -> None:
    assert forbidden_imports(path.read_text(), forbid={"app", "worker"}) == []


@pytest.mark.parametrize("path", sources("app"), ids=rel)
def test_the_app_never_imports_worker_code(path: Path) -> None:
    forbid = set() if rel(path) in APP_MAY_START_WORKERS else {"worker"}
    assert forbidden_imports(path.read_text(), forbid=forbid | {"torch"}) == []


@pytest.mark.parametrize("path", sources("app/contract"), ids=rel)
def test_the_job_contract_depends_on_nothing_but_the_engine_configs(path: Path) -> None:
    assert contract_problems(path.read_text()) == []


@pytest.mark.parametrize("path", [ROOT / r for r in RUNNERS], ids=rel)
def test_runners_reach_the_catalog_only_through_services(path: Path) -> None:
    assert runner_problems(path.read_text()) == []


@pytest.mark.parametrize("path", sources("app", "worker", "model"), ids=rel)
def test_modules_stay_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) < MAX_LINES


# -- the checkers catch what they are for ---------------------------------------------------


@pytest.mark.parametrize(
    "source", ["import app.catalog", "from worker.lease import Lease", "from app import jobs"]
)
def test_a_deliberately_wrong_engine_import_is_caught(source: str) -> None:
    assert forbidden_imports(source, forbid={"app", "worker"})


def test_relative_and_allowed_imports_pass() -> None:
    assert forbidden_imports("from .loudness import x\nimport numpy", forbid={"app"}) == []
    assert contract_problems("from model.config import SampleRNNConfig\nfrom typing import Any") == []


@pytest.mark.parametrize("source", ["import torch", "from app.catalog import Job", "import sqlalchemy"])
def test_a_contract_that_grows_a_dependency_is_caught(source: str) -> None:
    assert contract_problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "from sqlalchemy import update",
        "def f(rt):\n    with rt.session() as session:\n        session.execute(1)",
        "def f(s_session):\n    return s_session.get(1, 2)",
    ],
)
def test_sql_in_a_runner_is_caught(source: str) -> None:
    assert runner_problems(source)


def test_a_runner_may_pass_a_typed_session_on() -> None:
    source = "from sqlalchemy.orm import Session\ndef f(session: Session):\n    return g(session)"
    assert runner_problems(source) == []
