"""How every page answers: its context dataclass rendered into its template, with the studio's
security headers; and the 303 a form post gets."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

# Scripts, styles and media from our own origin only; no framing, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def render(request: Request, name: str, context: Any, *, status: int = 200) -> Response:
    """`TemplateResponse(request, name, context)` with the dataclass's fields as the context."""
    templates: Jinja2Templates = request.app.state.templates
    values = {f.name: getattr(context, f.name) for f in fields(context)}
    response = templates.TemplateResponse(request, name, values, status_code=status)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
