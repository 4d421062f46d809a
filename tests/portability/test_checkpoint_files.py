"""A checkpoint leaves (download, with ranges) and enters (import as a run) an install; a file
that this albumbot cannot use is refused with the reason, before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Run
from model.checkpoint import load_checkpoint
from model.checkpoint_header import read_checkpoint_header
from model.torch_pickle import TensorInfo, TorchFileError, read_header
from tests.portability.checkpoints import raw_checkpoint, tiny_checkpoint

API = "/api/v1"


def _project(client: TestClient) -> int:
    r = client.post(f"{API}/projects", json={"name": "Home", "artist": "Band"})
    return int(r.json()["id"])


def _import(client: TestClient, pid: int, path: Path, name: str = "run.pt"):  # noqa: ANN202
    with open(path, "rb") as f:
        return client.post(f"{API}/projects/{pid}/checkpoints/import",
                           files={"file": (name, f.read(), "application/octet-stream")})


def test_the_header_reader_sees_what_torch_loads_without_torch(tmp_path: Path) -> None:
    path = tiny_checkpoint(tmp_path / "c.pt", epoch=3)
    header = read_checkpoint_header(path)
    full = load_checkpoint(path)
    assert header.model_config == full.model_config and header.train_config == full.train_config
    assert (header.epoch, header.step, header.history) == (full.epoch, full.step, full.history)
    assert header.parameters == sum(t.numel() for t in full.model_state.values())


def test_the_header_reader_reads_the_legacy_format_too(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pth"
    torch.save({"features.0.weight": torch.zeros(4, 3, 3, 3)}, path,
               _use_new_zipfile_serialization=False)
    assert read_header(path) == {"features.0.weight": TensorInfo("FloatStorage", (4, 3, 3, 3))}


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_the_header_reader_builds_nothing_but_data(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "x": Evil()}, path)
    with pytest.raises(TorchFileError, match="print, which is not plain data"):
        read_header(path)


def test_an_imported_checkpoint_becomes_a_finished_run_with_its_epoch(
    client: TestClient, app_session: Session, tmp_path: Path
) -> None:
    pid = _project(client)
    r = _import(client, pid, tiny_checkpoint(tmp_path / "c.pt", epoch=2))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file"]["format_version"] == 1
    assert body["file"]["model"]["dim"] == 32 and body["file"]["epoch"] == 2
    run, ck = body["run"], body["checkpoint"]
    assert run["project_id"] == pid and run["status"] == "succeeded"
    assert run["config"]["model"]["dim"] == 32 and run["config"]["clips_per_epoch"] == 0
    assert (ck["epoch"], ck["step"], ck["valid_nll_bits"]) == (2, 10, 5.6)
    assert [c["id"] for c in run["checkpoints"]] == [ck["id"]]
    page = client.get(f"/runs/{run['id']}")  # the studio shows it like any run
    assert page.status_code == 200 and "epoch" in page.text.lower()
    # generating from it is a job like for any epoch
    g = client.post(f"{API}/checkpoints/{ck['id']}/generate", json={"n": 1, "seconds": 0.5})
    assert g.status_code == 202, g.text


def test_a_checkpoint_downloads_whole_and_by_ranges_and_imports_elsewhere(
    client: TestClient, tmp_path: Path
) -> None:
    src = tiny_checkpoint(tmp_path / "c.pt")
    pid = _project(client)
    ck = _import(client, pid, src).json()["checkpoint"]
    url = f"{API}/checkpoints/{ck['id']}/file"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == src.read_bytes()
    assert "attachment" in whole.headers["content-disposition"]
    assert whole.headers["content-disposition"].endswith("-e0002.pt")
    part = client.get(url, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == src.read_bytes()[10:100]
    head = client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == src.stat().st_size
    again = tmp_path / "again.pt"
    again.write_bytes(whole.content)
    assert _import(client, _project(client), again).status_code == 201
    assert client.get(f"{API}/checkpoints/999999/file").status_code == 404


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format_version": 99}, "format version 99 is not supported"),
        ({"model_config": {"dim": 32, "wings": 2}}, "wings"),
        ({"model": {}}, "no model weights"),
    ],
    ids=["future-version", "unknown-config-field", "no-weights"],
)
def test_an_incompatible_checkpoint_is_refused_with_the_reason(
    client: TestClient, app_session: Session, tmp_path: Path, changes: dict, reason: str
) -> None:
    pid = _project(client)
    r = _import(client, pid, raw_checkpoint(tmp_path / "bad.pt", changes), name="bad.pt")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert reason in r.json()["detail"] and "bad.pt" in r.json()["detail"]
    assert app_session.scalar(select(func.count()).select_from(Run)) == 0
    assert app_session.scalar(select(func.count()).select_from(Checkpoint)) == 0


def test_weights_of_another_shape_and_foreign_files_are_refused(
    client: TestClient, tmp_path: Path
) -> None:
    pid = _project(client)
    good = torch.load(tiny_checkpoint(tmp_path / "c.pt"), weights_only=True)
    good["model_config"]["q_levels"] = 64  # the weights are of a 256-level network
    torch.save(good, tmp_path / "shape.pt")
    r = _import(client, pid, tmp_path / "shape.pt")
    assert r.status_code == 422 and "mlp.embedding.weight has shape [256, 32]" in r.text
    (tmp_path / "text.pt").write_text("not a checkpoint")
    r = _import(client, pid, tmp_path / "text.pt")
    assert r.status_code == 422 and "not a readable albumbot checkpoint" in r.text
