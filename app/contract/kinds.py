"""Every job kind, named once: its `Job.kind`, its Celery task name, its queue, its payload type.

The web process publishes a job by its kind's task name (app/queue.py, no worker import), the
worker registers each task under the same name (worker/tasks.py, worker/album_tasks.py) and
decodes the payload with the kind's type before the runner sees it (worker/lease.py). A field
can be followed from the REST body (app/services/plans.py) through the payload to the runner by
a reader and by mypy. Torch-free: imported by the web app and the workers alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.contract.codec import ContractError
from app.contract.payloads import (
    AnalyzePayload,
    AutoAlbumPayload,
    CoversPayload,
    ExportPayload,
    GeneratePayload,
    Payload,
    RadioPayload,
    RetentionPayload,
    RunPayload,
    TitlesPayload,
)
from app.contract.queues import CPU, GPU, Queue

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class JobKind(Generic[P]):
    name: str  # Job.kind
    task: str  # the Celery task name it is published under
    queue: Queue  # where its jobs go, unless the payload routes itself (Payload.route)
    payload: type[P]

    def queue_for(self, payload: P) -> Queue:
        return payload.route(self.queue)

    def decode(self, data: Mapping[str, Any]) -> P:
        """The payload of a job of this kind; ContractError (naming the kind) when it is not."""
        try:
            return self.payload.from_dict(data)
        except ContractError as exc:
            raise ContractError(f"{self.name} job payload: {exc}") from None


RUN = JobKind("run", "run-training", GPU, RunPayload)
GENERATE = JobKind("generate", "generate-clips", GPU, GeneratePayload)
TITLES = JobKind("titles", "generate-titles", CPU, TitlesPayload)
COVERS = JobKind("covers", "generate-covers", CPU, CoversPayload)
EXPORT = JobKind("export", "export-album", CPU, ExportPayload)
AUTO_ALBUM = JobKind("auto-album", "auto-album", CPU, AutoAlbumPayload)
ANALYZE = JobKind("analyze", "analyze-clips", CPU, AnalyzePayload)
# Never ends by itself: a gpu worker streams until the job is cancelled (worker/radio.py).
RADIO = JobKind("radio", "radio-stream", GPU, RadioPayload)
RETENTION = JobKind("retention", "apply-retention", CPU, RetentionPayload)

KINDS: Mapping[str, JobKind[Any]] = {
    k.name: k
    for k in (RUN, GENERATE, TITLES, COVERS, EXPORT, AUTO_ALBUM, ANALYZE, RADIO, RETENTION)
}
# Kinds whose payload may reserve clip indices of a checkpoint (Payload.reservation).
RESERVING: tuple[JobKind[Any], ...] = (GENERATE, AUTO_ALBUM)


def kind_named(name: str) -> JobKind[Any]:
    try:
        return KINDS[name]
    except KeyError:
        raise ContractError(f"unknown job kind {name!r}") from None
