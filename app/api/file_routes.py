"""Routes that serve a file: GET (documented, with Range) and HEAD (the same handler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response


def add_file_route(
    router: APIRouter, path: str, endpoint: Callable[..., Any], *, name: str,
    responses: dict[int | str, dict[str, Any]],
) -> None:
    """GET and HEAD on one handler. HEAD is a route of its own (FastAPI answers 405 otherwise)
    and stays out of the schema, which keeps operation ids unique."""
    router.add_api_route(path, endpoint, methods=["GET"], response_class=Response,
                         responses=responses, name=name)
    router.add_api_route(path, endpoint, methods=["HEAD"], response_class=Response,
                         include_in_schema=False, name=f"{name}_head")
