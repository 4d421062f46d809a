"""`GET /covers/backends`: the cover backends and which of them this install can run.

Mounted before the covers router, whose `/covers/{cover_id}` would otherwise take the path."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep
from app.schemas.common import Page
from app.schemas.covers import CoverBackendOut
from app.services import cover_backends

router = APIRouter(tags=["covers"])


@router.get("/covers/backends", response_model=Page[CoverBackendOut])
def list_cover_backends(settings: SettingsDep) -> Page[CoverBackendOut]:
    """Best first. A request for one that is not available is a 422 with the same reason;
    "vgg19" needs `ALBUMBOT_VGG19_WEIGHTS` (a torchvision VGG19 file the operator supplies)."""
    best = cover_backends.best_backend(settings)
    album = cover_backends.auto_album_backend(settings)
    return Page(data=[
        CoverBackendOut(name=s.name, available=s.available, reason=s.reason,
                        description=s.description, auto=s.name == best, auto_album=s.name == album)
        for s in cover_backends.backend_statuses(settings)
    ])
