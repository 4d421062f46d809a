"""The REST API (v1): one router per resource, mounted under /api/v1 by app.main."""

from fastapi import APIRouter

from app.api import (
    albums,
    clips,
    covers,
    exports,
    files,
    health,
    jobs,
    projects,
    runs,
    sources,
    titles,
    tracks,
)


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (projects, sources, runs, clips, files, jobs, health, tracks,
                   titles, covers, albums, exports):
        router.include_router(module.router)
    return router
