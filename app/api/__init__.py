"""The REST API (v1): one router per resource, mounted under /api/v1 by app.main."""

from fastapi import APIRouter

from app.api import clips, files, health, jobs, projects, runs, sources, tracks


def api_router() -> APIRouter:
    router = APIRouter()
    for module in (projects, sources, runs, clips, files, jobs, health, tracks):
        router.include_router(module.router)
    return router
