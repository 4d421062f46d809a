"""The studio's HTML pages, their templates and static files (`install` mounts them)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"


@lru_cache(maxsize=256)
def _version(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>`: browsers refetch a file only when it changed."""
    path = STATIC_DIR / name
    try:
        return f"/static/{name}?v={_version(str(path), path.stat().st_mtime_ns)}"
    except OSError:
        return f"/static/{name}"


def fmt_time(seconds: float | None) -> str:
    """m:ss.cc"""
    if seconds is None:
        return "–"
    minutes, secs = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{secs:05.2f}"


def fmt_db(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{unit}"


def csrf_field(request: Request) -> Markup:
    """The hidden CSRF field for a plain HTML form that posts (empty when the studio is open)."""
    from app import auth

    token = request.app.state.settings.api_token
    if token is None:
        return Markup("")
    field = Markup('<input type="hidden" name="{}" value="{}">')
    return field.format(auth.CSRF_FIELD, auth.csrf_value(token))


def signed_in(request: Request) -> bool:
    from app import auth

    token = request.app.state.settings.api_token
    return token is not None and auth.has_session(request, token)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.globals["static_url"] = static_url
    env.globals["csrf_field"] = csrf_field
    env.globals["signed_in"] = signed_in
    env.filters["time"] = fmt_time
    env.filters["db"] = fmt_db
    env.filters["as_json"] = lambda rows: [r.as_json() for r in rows]
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    return templates


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers revalidate on every use (a cheap 304 on the same machine), so
    ES modules importing each other by plain relative URLs never mix old and new versions."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Mount /static and add the page routes to `app`."""
    from app.web import albums, clips, login, projects, radio, runs, tracks

    app.state.templates = make_templates()
    app.mount("/static", RevalidatedStaticFiles(directory=str(STATIC_DIR)), name="static")
    guard = [Depends(login.curator)]  # signed in when a token is set; CSRF-safe changes
    app.include_router(login.router)
    for pages in (projects, runs, clips, tracks, albums, radio):
        app.include_router(pages.router, dependencies=guard)
