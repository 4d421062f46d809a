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
        cover_backends,
        covers,
        curation,
        exports,
        files,
        health,
        jobs,
        live_clips,
        portability,
        projects,
        radio,
        runs,
        sources,
        titles,
        tracks,
        usage,
    )

    router = APIRouter()
    # portability before projects (POST /projects/import), cover_backends before covers.
    for module in (portability, projects, sources, runs, clips, files, jobs, health, tracks,
                   titles, cover_backends, covers, albums, exports, curation, radio, usage,
                   live_clips):
        router.include_router(module.router)
    return router
