"""The pages stay as thin as the API routes: every module under app/web reads the catalog through
app/services only (no SQLAlchemy, no session queries of its own), takes the JSON shapes from
app/presenters (never from the API's route modules), and keeps its page contexts in
app/web/contexts.py. Read with `ast`, so nothing is imported or run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "app" / "web"
MODULES = sorted(WEB.rglob("*.py"))
ALLOWED_API = {"app.api.deps"}  # the dependency aliases; every other app.api module is a route module
SESSION_QUERIES = {"get", "execute", "scalar", "scalars", "query"}
# contexts.py and the modules it is made of (its fields, the radio pages), and the chart models
# the contexts hold
CONTEXT_HOMES = {"contexts.py", "context_fields.py", "radio_contexts.py", "graphics.py",
                 "quality_chart.py"}


def imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of everything an import binds: `import a.b` gives `a.b`, and
    `from a import b` gives `a.b` (b may be a submodule or a name defined in a)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return out


def layering_problems(source: str) -> list[str]:
    """What in a page module's `source` breaks the layering (empty when nothing does)."""
    tree = ast.parse(source)
    problems = []
    for line, name in imported_names(tree):
        parts = name.split(".")
        if parts[0] == "sqlalchemy":
            problems.append(f"line {line}: imports {name} (read through app/services)")
        elif parts[:2] == ["app", "api"] and ".".join(parts[:3]) not in ALLOWED_API:
            problems.append(f"line {line}: imports {name} (presenters: app.presenters)")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_QUERIES
            and "session" in ast.unparse(node.func.value).lower()
        ):
            problems.append(f"line {node.lineno}: {ast.unparse(node.func)}() queries the catalog")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WEB)))
def test_page_module_reads_only_through_services(path: Path) -> None:
    assert layering_problems(path.read_text()) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(WEB)))
def test_page_module_is_one_screenful_of_concepts(path: Path) -> None:
    assert len(path.read_text().splitlines()) < 400


def test_page_contexts_live_in_contexts_module() -> None:
    strays = [
        f"{path.relative_to(WEB)}:{node.lineno} {node.name}"
        for path in MODULES
        if path.name not in CONTEXT_HOMES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert strays == []


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "from sqlalchemy import select",
        "from sqlalchemy.orm import Session",
        "from app.api.clips import clip_out",
        "from app.api import tracks",
        "import app.api.albums",
        "from app import api",
        "def f(session):\n    return session.scalar(1)",
        "def f(request):\n    return request.state.session.get(1, 2)",
    ],
)
def test_the_check_catches_a_page_that_queries_or_uses_api_routes(source: str) -> None:
    assert layering_problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "from app.api.deps import ReadSessionDep, SessionDep",
        "from app.api import deps",
        "from app.presenters import clip_out",
        "from app.services import clips\ndef f(session):\n    return clips.get_clip(session, 1)",
        "def f(values):\n    return values.get('a')",
    ],
)
def test_the_check_lets_pages_use_deps_presenters_and_services(source: str) -> None:
    assert layering_problems(source) == []
