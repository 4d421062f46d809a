"""The REST API (v1): one router per resource, mounted under /api/v1 by app.main.

The route modules are imported by `api_router()`, not here, so that importing a helper of this
package (`app.api.deps`, `app.api.urls`) does not import every route: the pages and the
presenters (`app.presenters`, which the routes import) use those helpers.
"""

from fastapi import APIRouter


def api_router() -> APIRouter:
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
        usage,
    )

    router = APIRouter()
    for module in (projects, sources, runs, clips, files, jobs, health, tracks,
                   titles, covers, albums, exports, usage):
        router.include_router(module.router)
    return router
