"""The `Allow` header of a 405: every method the path supports, not only one route's.

Starlette answers a method no route of the path takes with the `Allow` of the first route whose
path matched, so `PUT /projects` listed POST alone although GET lists them; RFC 9110
(section 15.5.6) wants all of the target resource's methods."""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import compile_path


def allowed_methods(request: Request) -> str | None:
    """The methods of every route whose path matches the request's, sorted; None if none does."""
    path = request.scope["path"]
    methods: set[str] = set()
    # The routes as FastAPI flattens them for the OpenAPI document: full paths, convertors kept.
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return ", ".join(sorted(methods)) if methods else None
