"""Which tasks get time limits, and the setting's guard against a kind that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.contract.kinds import EXPORT, GENERATE, RADIO, RUN
from app.settings import Settings
from worker.celery_app import celery_config, make_celery
from worker.time_limits import task_annotations


def test_every_task_but_training_and_the_radio_has_a_soft_and_a_hard_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, job_time_limit_s=100, job_time_limits={"export": 30},
                        time_limit_grace_s=5)
    limits = celery_config(settings)["task_annotations"]
    assert RUN.task not in limits and RADIO.task not in limits
    assert limits[GENERATE.task] == {"soft_time_limit": 100, "time_limit": 105}
    assert limits[EXPORT.task] == {"soft_time_limit": 30, "time_limit": 35}
    app = make_celery(settings)
    app.loader.import_default_modules()  # the task modules, as a worker imports them
    assert app.tasks[EXPORT.task].soft_time_limit == 30  # what the worker applies
    assert app.tasks[RUN.task].soft_time_limit is None


@pytest.mark.parametrize("kind", ["exprot", "run"])
def test_a_limit_for_an_unknown_or_unlimited_kind_is_refused(tmp_path: Path, kind: str) -> None:
    with pytest.raises(ValueError, match=f"job_time_limits names '{kind}'"):
        task_annotations(Settings(data_dir=tmp_path, job_time_limits={kind: 10}))


def test_a_limit_must_be_above_zero(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"job_time_limits\['export'\] must be above 0 s"):
        Settings(data_dir=tmp_path, job_time_limits={"export": 0})
