"""What issue 14 stores: revision 0004 gives existing albums, tracks and jobs "not given"
metadata, and export payloads stored before the metadata existed still decode."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from app.contract.kinds import EXPORT
from app.contract.payloads import AlbumSnapshot, ExportPayload, SnapshotCredit, SnapshotTrack
from app.db import engine_for_url
from app.migrate import downgrade, upgrade
from app.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    return factory()


def test_0004_reads_existing_rows_as_not_given_and_goes_back(empty_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=empty_url)
    upgrade(settings, "0002")
    engine = engine_for_url(empty_url)
    now = "CURRENT_TIMESTAMP"
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO projects (name, artist, description, created_at, updated_at) "
                          f"VALUES ('p', 'a', '', {now}, {now})"))
        conn.execute(text(f"INSERT INTO tracks (project_id, name, edl, revision, created_at, "
                          f"updated_at) VALUES (1, 't', '[]', 1, {now}, {now})"))
        conn.execute(text(f"INSERT INTO albums (project_id, title, artist, created_at, updated_at) "
                          f"VALUES (1, 'A', 'B', {now}, {now})"))
        conn.execute(text("INSERT INTO album_tracks (album_id, position, track_id, title, gap_s) "
                          "VALUES (1, 0, 1, 'one', 2.0)"))
        conn.execute(text(
            "INSERT INTO jobs (kind, task, queue, status, progress, message, attempt, "
            "cancel_requested, handbacks, payload, idempotency_key, created_at, updated_at) "
            f"VALUES ('run', 'run-training', 'gpu', 'queued', 0, '', 0, false, 0, '{{}}', "
            f"'run:1:k', {now}, {now})"
        ))
    engine.dispose()

    upgrade(settings)
    engine = engine_for_url(empty_url)
    with engine.connect() as conn:
        album = conn.execute(text(
            "SELECT album_artist, release_date, genre, label, comment, upc, disc_number, "
            "disc_total FROM albums"
        )).one()
        track = conn.execute(text("SELECT composer, isrc, credits FROM album_tracks")).one()
        digest = conn.execute(text("SELECT request_sha256 FROM jobs")).scalar()
    engine.dispose()
    assert tuple(album) == ("", "", "", "", "", "", None, None)
    credits = track[2] if isinstance(track[2], list) else json.loads(track[2])
    assert (track[0], track[1], credits) == ("", "", [])
    assert digest is None  # the key keeps answering with its job, whatever the body

    downgrade(settings, "0002")
    engine = engine_for_url(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM album_tracks")).scalar() == "one"
    engine.dispose()


def test_an_export_payload_stored_before_the_metadata_decodes_as_not_given() -> None:
    stored = {
        "v": 1, "export_id": 6, "formats": ["flac"],
        "album": {"album_id": 3, "project_id": 1, "title": "A", "artist": "B", "year": 2026,
                  "cover_id": None,
                  "tracks": [{"track_id": 9, "revision": 2, "title": "t", "join_s": -1.5}]},
    }
    payload = EXPORT.decode(stored)
    assert payload.album == AlbumSnapshot(
        album_id=3, project_id=1, title="A", artist="B", year=2026, cover_id=None,
        tracks=(SnapshotTrack(track_id=9, revision=2, title="t", join_s=-1.5),),
    )
    assert (payload.album.release_date, payload.album.upc, payload.album.disc_number) == ("", "", None)
    full = AlbumSnapshot(
        album_id=3, project_id=1, title="A", artist="B", year=2026, cover_id=None,
        tracks=(SnapshotTrack(9, 2, "t", 0.0, composer="c", isrc="USS1Z2600001",
                              credits=(SnapshotCredit("producer", "p"),)),),
        release_date="2026-05-01", upc="036000291452", disc_number=1, disc_total=2,
    )
    round_trip = EXPORT.decode(json.loads(json.dumps(
        ExportPayload(export_id=6, formats=("flac",), album=full).to_dict()
    )))
    assert round_trip.album == full
