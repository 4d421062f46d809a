"""Runner of the retention job: remove the checkpoint files a run's retention plan lets go."""

from __future__ import annotations

from typing import Any

from app.contract.payloads import RetentionPayload
from app.services import retention
from worker.lease import Lease
from worker.runtime import Runtime


def run_retention(rt: Runtime, lease: Lease, payload: RetentionPayload) -> dict[str, Any]:
    # Under the lease's fence: planned and carried out in one transaction, so a clip the curator
    # keeps meanwhile either protects its checkpoint or was kept after the files went.
    with lease.fenced() as session:
        done = retention.apply(session, rt.storage, payload.run_id, payload.keep_last)
    removed = [d.epoch for d in done.removable]
    lease.report(progress=1.0, message=f"removed {len(removed)} checkpoint file(s)")
    return {"removed_epochs": removed, "freed_bytes": done.freed_bytes}
