"""A project leaves one install as an archive and arrives in another (SQLite to PostgreSQL and
back) with every row (ids remapped) and every file (same SHA-256); a damaged or foreign archive
is refused, with nothing left behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Export, Project
from app.main import create_app
from app.migrate import upgrade
from app.queue import RecordingQueue
from app.services import archive_format as fmt
from app.services import tracks
from app.services.project_archive import _rows
from app.settings import Settings
from app.storage import Storage
from tests.portability.rich_project import make_rich_project

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]


class Install:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.storage: Storage = client.app.state.storage  # type: ignore[attr-defined]

    def session(self) -> Session:
        session: Session = self.client.app.state.session_factory()  # type: ignore[attr-defined]
        return session

    def export(self, pid: int, query: str = "") -> bytes:
        r = self.client.get(f"{API}/projects/{pid}/archive{query}")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
        return r.content

    def import_(self, data: bytes) -> Any:
        return self.client.post(f"{API}/projects/import",
                                files={"file": ("p.zip", data, "application/zip")})


@pytest.fixture
def installs(tmp_path: Path) -> Iterator[Callable[[str], Install]]:
    """Installs on fresh data folders: `make("sqlite")`, or `make(<PostgreSQL URL>)`."""
    clients: list[TestClient] = []

    def make(db: str) -> Install:
        data_dir = tmp_path / f"install-{len(clients)}"
        values: dict[str, Any] = {"data_dir": data_dir}
        if db != "sqlite":
            values["database_url"] = db
        settings = Settings(**values)
        upgrade(settings)
        client = TestClient(create_app(settings, queue=RecordingQueue()))
        client.__enter__()
        clients.append(client)
        return Install(client)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _file_hash(storage: Storage, key: str | None) -> str | None:
    if not key:
        return None
    path = storage.path(key)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def dump(install: Install, pid: int, back: dict[str, dict[int, int]] | None = None
         ) -> dict[str, list[dict[str, Any]]]:
    """Every row of the project as home ids would name them (`back`: new id -> home id per
    table; None for the home install), storage keys replaced by their files' SHA-256, foreign
    keys to what does not travel (jobs, datasets) left out."""
    def home(table: str, value: Any) -> Any:
        return value if back is None or value is None else back[table][value]

    out: dict[str, list[dict[str, Any]]] = {}
    with install.session() as session:
        rows = _rows(session, pid)
        for table, model in fmt.TABLES:
            found = []
            for obj in rows[table]:
                row = {a.key: getattr(obj, a.key) for a in inspect(model).column_attrs}
                row["id"] = home(table, row["id"])
                for (t, column), target in fmt.REFS.items():
                    if t == table:
                        row[column] = home(target, row[column])
                for t, column in fmt.DROPPED:
                    if t == table:
                        row.pop(column)
                for column in fmt.FILE_COLUMNS.get(table, ()):
                    row[column] = _file_hash(install.storage, row[column])
                if table == "clips" and row["closeness"]:
                    sid = row["closeness"]["source_track_id"]
                    row["closeness"] = {**row["closeness"],
                                        "source_track_id": home("source_tracks", sid)}
                if table == "covers":
                    p = dict(row["params"])
                    p["original"] = _file_hash(install.storage, p["original"])
                    p["sources"] = [home("source_images", i) for i in p["sources"]]
                    if "from_sound" in p:
                        p["from_sound"] = [home("clips", i) for i in p["from_sound"]]
                    row["params"] = p
                if table == "tracks":
                    row["edl"] = fmt.remap_edl(row["edl"], lambda i: home("clips", i))
                found.append(row)
            out[table] = sorted(found, key=lambda r: r["id"])
        out["track_revisions"] = [
            {"track": home("tracks", track.id), "revision": r.revision, "name": r.name,
             "saved_at": r.saved_at, "edl": fmt.remap_edl(r.edl, lambda i: home("clips", i))}
            for track in rows["tracks"] for r in tracks.list_revisions(install.storage, track)
        ]
    return out


def _back(answer: dict[str, Any]) -> dict[str, dict[int, int]]:
    return {t: {new: int(old) for old, new in m.items()} for t, m in answer["ids"].items()}


@pytest.mark.postgres
def test_a_project_round_trips_sqlite_to_postgresql_and_back_with_every_row_and_file(
    installs: Callable[[str], Install], pg_database_factory: Callable[[], str], tmp_path: Path
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    expected = dump(home, pid)
    assert all(expected[t] for t, _ in fmt.TABLES), "the fixture fills every table"
    assert expected["track_revisions"], "and saves a song"
    assert len(expected["exports"]) == 1  # the running export does not travel

    archive = home.export(pid)
    with zipfile.ZipFile(io.BytesIO(home.export(pid))) as again, \
            zipfile.ZipFile(io.BytesIO(archive)) as first:  # the same rows, the same catalog
        assert again.read("catalog.json") == first.read("catalog.json")
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        manifest = json.loads(z.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(z.read(entry["name"])).hexdigest() == entry["sha256"]
    assert manifest["counts"] == {t: len(expected[t]) for t, _ in fmt.TABLES}
    assert manifest["missing_at_home"] == []

    pg = installs(pg_database_factory())
    pg.client.post(f"{API}/projects", json={"name": "occupies id 1", "artist": "x"})
    r = pg.import_(archive)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["project"]["id"] != pid and answer["files"] == len(manifest["files"])
    got = dump(pg, answer["project"]["id"], _back(answer))
    for table in expected:
        for a, b in zip(got[table], expected[table], strict=True):
            assert a == b, (table, {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)})

    back_home = installs("sqlite")
    r2 = back_home.import_(pg.export(answer["project"]["id"]))
    assert r2.status_code == 201, r2.text
    chained = {t: {new: _back(answer)[t][mid] for new, mid in m.items()}
               for t, m in _back(r2.json()).items()}
    assert dump(back_home, r2.json()["project"]["id"], chained) == expected


def test_an_imported_project_is_a_new_one_beside_the_original(
    installs: Callable[[str], Install], tmp_path: Path
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    r = home.import_(home.export(pid, "?checkpoints=none"))
    assert r.status_code == 201, r.text
    new = r.json()["project"]["id"]
    with home.session() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 2
        cks = list(session.scalars(select(Checkpoint).join(Checkpoint.run)
                                   .where(Checkpoint.run.has(project_id=new))))
        assert len(cks) == 2 and not any(home.storage.path(c.path).exists() for c in cks)
        assert session.scalar(select(func.count()).select_from(Export)) == 3
    # the original's files are untouched and the copy's are its own
    assert dump(home, pid)["clips"] == dump(home, new, _back(r.json()))["clips"]
    assert client_clip_audio(home, new) == client_clip_audio(home, pid)


def client_clip_audio(install: Install, pid: int) -> list[bytes]:
    clips = install.client.get(f"{API}/projects/{pid}/clips?sort=created&limit=50").json()["data"]
    return [install.client.get(f"{API}/clips/{c['id']}/audio").content for c in clips]


def _rezip(data: bytes, change: Callable[[str, bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))
    return out.getvalue()


def _flip_a_byte(name: str, body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 1]) if name.startswith("files/") else body


def _newer_schema(name: str, body: bytes) -> bytes:
    if name != "catalog.json":
        return body
    catalog = json.loads(body)
    catalog["tables"]["projects"][0]["mood"] = "grim"
    return json.dumps(catalog).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_flip_a_byte, "SHA-256 differs from the manifest"),
        (_newer_schema, "catalog.json does not match"),
        (lambda n, b: b"{}" if n == "manifest.json" else b, "not an albumbot project"),
    ],
    ids=["damaged-file", "edited-catalog", "foreign-manifest"],
)
def test_a_damaged_or_foreign_archive_is_refused_and_leaves_nothing(
    installs: Callable[[str], Install], tmp_path: Path, change: Any, reason: str
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    before = sorted(p for p in home.storage.root.rglob("*") if p.is_file())
    r = home.import_(_rezip(home.export(pid), change))
    assert r.status_code == 422 and reason in r.json()["detail"], r.text
    with home.session() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1
    assert sorted(p for p in home.storage.root.rglob("*") if p.is_file()) == before
    assert home.import_(b"not a zip").status_code == 422


def test_an_archive_from_a_newer_albumbot_names_the_unknown_column(
    installs: Callable[[str], Install], tmp_path: Path
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    catalog: dict[str, bytes] = {}

    def newer(name: str, body: bytes) -> bytes:
        if name == "catalog.json":
            body = _newer_schema(name, body)
            catalog["sha"] = hashlib.sha256(body).hexdigest().encode()
        return body

    edited = _rezip(home.export(pid), newer)
    fixed = _rezip(edited, lambda n, b: json.dumps({
        **json.loads(b), "catalog_sha256": catalog["sha"].decode()}).encode()
        if n == "manifest.json" else b)
    r = home.import_(fixed)
    assert r.status_code == 422 and "(mood): it comes from a newer albumbot" in r.text, r.text


def test_the_command_line_exports_and_imports_between_data_folders(
    installs: Callable[[str], Install], tmp_path: Path
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    home_dir = home.storage.root.parent
    out = tmp_path / "p.zip"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ALBUMBOT_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "app.cli", "project", "export", str(pid), str(out),
                    "--data-dir", str(home_dir)], check=True, env=env, cwd=ROOT, timeout=120)
    done = subprocess.run([sys.executable, "-m", "app.cli", "project", "import", str(out),
                           "--data-dir", str(tmp_path / "elsewhere")], check=True, env=env,
                          cwd=ROOT, timeout=120, capture_output=True, text=True)
    summary = json.loads(done.stdout)
    assert summary["project_id"] == 1 and summary["counts"]["clips"] == 4
    assert summary["files"] == len(json.loads(zipfile.ZipFile(out).read("manifest.json"))["files"])


def test_rows_of_the_wrong_type_are_a_422_and_roll_back(
    installs: Callable[[str], Install], tmp_path: Path
) -> None:
    home = installs("sqlite")
    with home.session() as session:
        pid = make_rich_project(home.client, session, tmp_path)
    sha: dict[str, str] = {}

    def wrong(name: str, body: bytes) -> bytes:
        if name == "catalog.json":
            catalog = json.loads(body)
            catalog["tables"]["clips"][0]["index"] = "first"
            body = json.dumps(catalog).encode()
            sha["catalog"] = hashlib.sha256(body).hexdigest()
        return body

    edited = _rezip(home.export(pid), wrong)
    fixed = _rezip(edited, lambda n, b: json.dumps({
        **json.loads(b), "catalog_sha256": sha["catalog"]}).encode() if n == "manifest.json" else b)
    before = sorted(p for p in home.storage.root.rglob("*") if p.is_file())
    r = home.import_(fixed)
    assert r.status_code == 422 and "rows do not fit this catalog" in r.text, r.text
    with home.session() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 1
    assert sorted(p for p in home.storage.root.rglob("*") if p.is_file()) == before
