"""The same pipeline on the distributed stack: Redis as broker, PostgreSQL as catalog."""

from __future__ import annotations

import pytest

from tests.worker.conftest import Stack
from tests.worker.scenarios import check_pipeline

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def test_clips_stream_into_the_catalog_epoch_by_epoch(distributed: Stack) -> None:
    check_pipeline(distributed)
