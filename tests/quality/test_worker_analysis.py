"""On the embedded stack (SQLite, filesystem broker, a real worker process serving both
queues): clips a run makes are analysed on the cpu queue without anyone asking, and each epoch
gets its style distance."""

from __future__ import annotations

from tests.worker.conftest import Stack, embedded  # noqa: F401 - the real-worker stack
from tests.worker.harness import (
    clips_of,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)


def test_clips_a_run_makes_are_analysed_when_they_land(embedded: Stack) -> None:  # noqa: F811
    c = embedded.client
    pid = new_project(c, "Analysed")
    run = start_run(c, pid, tiny_run(2, clips=2, seconds=1.0))
    wait_run(c, run["id"], ("succeeded",), 180)

    def analysed() -> list[dict]:
        made = clips_of(c, pid, run["id"])
        return made if len(made) == 4 and all(x["analysis_version"] for x in made) else []

    made = wait_for(analysed, 60, interval=0.3, what="every clip analysed")
    assert all(x["quality"] is not None and x["flag_scores"] for x in made)
    audible = [x for x in made if "silent" not in {f["name"] for f in x["flags"]}]
    assert all(x["closeness"]["source_track_id"] for x in audible)  # compared with the album
    checkpoints = wait_for(
        lambda: (cs := get(c, f"/runs/{run['id']}/checkpoints")["data"])
        and all(x["analyzed_clips"] == 2 for x in cs) and cs,
        30, what="epoch style distances",
    )
    assert all(x["style_distance"] is not None for x in checkpoints)
    page = get(c, f"/projects/{pid}/clips?run={run['id']}&sort=-quality")["data"]
    assert [x["quality"] for x in page] == sorted((x["quality"] for x in page), reverse=True)
