"""The pipeline end to end on the embedded stack: SQLite + filesystem broker + a real worker."""

from __future__ import annotations

from tests.worker.conftest import Stack
from tests.worker.scenarios import check_pipeline


def test_clips_stream_into_the_catalog_epoch_by_epoch(embedded: Stack) -> None:
    check_pipeline(embedded)
