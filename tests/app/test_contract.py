"""The job contract: every kind named once, payloads that round-trip and refuse what they are not."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.contract.codec import ContractError
from app.contract.kinds import AUTO_ALBUM, GENERATE, KINDS, RUN, kind_named
from app.contract.payloads import (
    AlbumPiece,
    AlbumSnapshot,
    AnalyzePayload,
    AutoAlbumPayload,
    CoversPayload,
    ExportPayload,
    GeneratePayload,
    MadeAlbum,
    PrimeExcerpt,
    RadioPayload,
    RetentionPayload,
    RunPayload,
    SnapshotTrack,
    TitlesPayload,
)
from app.contract.plan import RunPlan
from app.contract.queues import CPU, GPU, QUEUES
from app.schemas.runs import RunConfigIn
from app.services.plans import run_plan

SNAPSHOT = AlbumSnapshot(
    album_id=3, project_id=1, title="A", artist="B", year=2026, cover_id=None,
    tracks=(SnapshotTrack(track_id=9, revision=2, title="t", join_s=-1.5),),
)
GENERATING = GeneratePayload(
    checkpoint_id=4, run_id=2, n=3, seconds=12.5, temperature=0.0, seed=11, first_index=8
)
EXAMPLES: dict[str, Any] = {
    "run": RunPayload(run_id=5, resume=True),
    "generate": GENERATING,
    "titles": TitlesPayload(project_id=1, n=20, seed=4, replace=True),
    "covers": CoversPayload(project_id=1, method="photos", size=1400, seed=2, backend="auto", n=2),
    "export": ExportPayload(export_id=6, formats=("flac", "mp3"), album=SNAPSHOT),
    "auto-album": AutoAlbumPayload(
        project_id=1, mode="clips", seed=9, run_id=2, epoch=3, seconds=None, tracks=2, title=None,
        artist="x", gap_s=2.0, formats=("flac",),
        pieces=(AlbumPiece(clip_id=1, epoch=3, start_s=0.0, end_s=4.0, duration_s=4.0),),
        made=MadeAlbum(export_id=6, album=SNAPSHOT, clip_ids=(1,), notes=("n",)),
    ),
    "analyze": AnalyzePayload(project_id=1, checkpoint_id=4, redo=True, total=9, done=3, after_id=17),
    "radio": RadioPayload(
        checkpoint_id=4, run_id=2, temperature=0.9, seed=7,
        prime=PrimeExcerpt(key="projects/1/sources/a.wav", start_s=12.5, seconds=2.0, source_id=3),
    ),
    "retention": RetentionPayload(run_id=3, keep_last=2),
}


def test_every_kind_has_a_unique_name_task_and_a_known_queue() -> None:
    assert set(EXAMPLES) == set(KINDS)
    tasks = [k.task for k in KINDS.values()]
    assert len(set(tasks)) == len(tasks)
    assert {k.queue for k in KINDS.values()} <= set(QUEUES)
    assert kind_named("run") is RUN
    with pytest.raises(ContractError, match="unknown job kind"):
        kind_named("render")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_payloads_round_trip_through_json_with_their_version(name: str) -> None:
    import json

    payload = EXAMPLES[name]
    stored = json.loads(json.dumps(payload.to_dict()))  # what the database gives back
    assert stored["v"] == type(payload).VERSION
    assert KINDS[name].decode(stored) == payload


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bogus": 1}, "unknown fields bogus"),
        ({"v": 2}, "format version 2"),
        ({"n": "3"}, "GeneratePayload.n: expected int"),
        ({"n": True}, "expected int"),  # a bool is not a count
        ({"seconds": None}, "GeneratePayload.seconds"),
        ({"first_index": 1.5}, "first_index"),
    ],
)
def test_a_payload_that_is_not_one_is_refused_by_name(change: dict[str, Any], message: str) -> None:
    stored = {**GENERATING.to_dict(), **change}
    with pytest.raises(ContractError, match=message):
        GENERATE.decode(stored)


def test_missing_required_fields_and_nested_errors_name_the_path() -> None:
    with pytest.raises(ContractError, match="missing field checkpoint_id"):
        GENERATE.decode({"v": 1, "run_id": 1, "n": 1, "seconds": 1.0, "temperature": 1.0, "seed": 0})
    stored = EXAMPLES["auto-album"].to_dict()
    stored["made"]["album"]["tracks"][0]["revision"] = "2"
    with pytest.raises(ContractError, match=r"made\.album\.tracks\[0\]\.revision"):
        AUTO_ALBUM.decode(stored)
    with pytest.raises(ContractError, match="'first' fits none of 'last' \\| 'all' \\| int"):
        AUTO_ALBUM.decode({**EXAMPLES["auto-album"].to_dict(), "epoch": "first"})


def test_a_generating_auto_album_routes_itself_to_the_gpu_and_exposes_its_reservation() -> None:
    album = dataclasses.replace(EXAMPLES["auto-album"], mode="generate", generate=GENERATING)
    assert AUTO_ALBUM.queue_for(album) == GPU
    assert AUTO_ALBUM.queue_for(EXAMPLES["auto-album"]) == CPU
    assert album.reservation() == (4, 8, 3)
    assert dataclasses.replace(GENERATING, first_index=None).reservation() is None
    assert EXAMPLES["titles"].reservation() is None


def test_a_run_plan_round_trips_and_keeps_temperature_zero() -> None:
    plan = run_plan(RunConfigIn(preset="tiny", temperature=0, model={"dim": 64}, epochs=2))
    assert plan.temperature == 0.0 and plan.model.dim == 64 and plan.train.epochs == 2
    assert RunPlan.from_dict(plan.to_dict()) == plan
    stored = plan.to_dict()
    with pytest.raises(ContractError, match="unknown fields oops"):
        RunPlan.from_dict({**stored, "oops": 1})
    with pytest.raises(ContractError, match="model.cell"):
        RunPlan.from_dict({**stored, "model": {**stored["model"], "cell": "rnn"}})
    with pytest.raises(ContractError, match="sample_rate"):
        RunPlan.from_dict({**stored, "sample_rate": 32000})  # disagrees with the model's
