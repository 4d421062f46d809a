"""Distributor-ready releases (issue 14): album and track metadata through the API, every field
read back with mutagen from the exported FLAC and MP3 files, the continuous album.flac with an
album.cue whose INDEX times match the rendered master to the frame, and the release check."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip
from tests.albums.conftest import Worker
from tests.albums.factories import (
    API,
    add_run,
    job,
    make_project,
    make_track,
    storage_of,
    upload_image,
)

SR = 44100
FPS = 75
METADATA: dict[str, Any] = {
    "album_artist": "Dadabots & Friends",
    "release_date": "2026-05-01",
    "genre": "Technical Death Metal",
    "label": "Neural Records",
    "comment": "Made by SampleRNN\nrun 3, epoch 12",
    "upc": "036000291452",  # a valid UPC-A
    "disc_number": 1,
    "disc_total": 2,
}
TRACK_META: list[dict[str, Any]] = [
    {"composer": "SampleRNN", "isrc": "US-S1Z-26-00001",
     "credits": [{"role": "producer", "name": "CJ Carr"}, {"role": "mixer", "name": "Zack Zukowski"},
                 {"role": "producer", "name": "Zack Zukowski"}]},
    {"composer": "SampleRNN; Archspire", "isrc": "uss1z2600002",
     "credits": [{"role": "engineer", "name": "E"}, {"role": "arranger", "name": "A"},
                 {"role": "lyricist", "name": "L"}, {"role": "remixer", "name": "R"},
                 {"role": "conductor", "name": "C"}, {"role": "writer", "name": "W"}]},
    {"composer": "", "isrc": "", "credits": []},
]
# Where Picard's mapping puts each credit role in ID3v2.4: a TIPL involvement or its own frame.
ID3_ROLE = {"producer": "producer", "engineer": "engineer", "mixer": "mix", "arranger": "arranger"}
OWN_FRAME = {"lyricist": "TEXT", "remixer": "TPE4", "conductor": "TPE3", "writer": "TXXX:Writer"}


@pytest.fixture
def release(client: TestClient, worker: Worker, session: Session) -> dict[str, Any]:
    """Three 8 s tracks: a 1.5 s gap after the first, a 2 s crossfade after the second; full
    metadata, a picked cover."""
    pid = make_project(client, artist="Archspire")
    run = add_run(session, storage_of(client), pid, epochs=1, per_epoch=3, seconds=9.0)
    clips = list(session.scalars(select(Clip.id).where(Clip.run_id == run.id).order_by(Clip.id)))
    session.rollback()
    songs = [
        make_track(client, pid, [{"clip_id": c, "start_s": 0.5, "end_s": 8.5}], f"s{i}")
        for i, c in enumerate(clips)
    ]
    upload_image(client, pid, "cover")
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "mosaic", "seed": 3})
    worker.run_all()
    cover_id = job(client, r.json()["id"])["result"]["cover_ids"][0]
    joins = [{"gap_ms": 1500}, {"crossfade_ms": 2000}, {}]
    tracks = [
        {"track_id": s["id"], "title": f"Song “{i + 1}”", **joins[i], **TRACK_META[i]}
        for i, s in enumerate(songs)
    ]
    body = {"title": "Deep Bot", "artist": "Dadabots", "cover_id": cover_id, "tracks": tracks,
            **METADATA}
    r = client.post(f"{API}/projects/{pid}/albums", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _export(client: TestClient, worker: Worker, album_id: int, formats: list[str]) -> zipfile.ZipFile:
    r = client.post(f"{API}/albums/{album_id}/exports", json={"formats": formats})
    assert r.status_code == 202, r.text
    worker.run_all()
    done = client.get(f"{API}/exports/{r.json()['id']}").json()
    assert done["status"] == "succeeded", job(client, done["job_id"])
    return zipfile.ZipFile(io.BytesIO(client.get(done["download_url"]).content))


def test_metadata_is_normalised_stored_and_cleared_by_put(
    client: TestClient, release: dict[str, Any]
) -> None:
    for key, value in METADATA.items():
        assert release[key] == (value.replace("\n", "\n") if isinstance(value, str) else value)
    assert release["track_total"] == 3
    assert [t["isrc"] for t in release["tracks"]] == ["USS1Z2600001", "USS1Z2600002", ""]
    assert release["tracks"][0]["credits"] == TRACK_META[0]["credits"]
    assert release["tracks"][1]["composer"] == "SampleRNN; Archspire"
    again = client.get(f"{API}/albums/{release['id']}").json()
    assert again == release
    # PUT is the whole album: metadata left out is cleared.
    tracks = [{"track_id": t["track_id"], "title": t["title"]} for t in release["tracks"]]
    put = client.put(f"{API}/albums/{release['id']}", json={
        "title": "Deep Bot", "artist": "Dadabots", "tracks": tracks,
    }).json()
    assert (put["release_date"], put["upc"], put["disc_number"]) == ("", "", None)
    assert put["tracks"][0]["isrc"] == "" and put["tracks"][0]["credits"] == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"release_date": "2026-02-30"}, "release_date", "not a calendar date"),
        ({"release_date": "26"}, "release_date", "expected YYYY or YYYY-MM-DD"),
        ({"release_date": "0999"}, "release_date", "four digits"),
        ({"upc": "036000291453"}, "upc", "check digit"),
        ({"upc": "12345"}, "upc", "12 or 13 digits"),
        ({"disc_number": 3, "disc_total": 2}, "body", "past the last"),
        ({"disc_total": 2}, "body", "needs a disc_number"),
        ({"tracks": [{"track_id": 0, "isrc": "US-S1Z-26-0001"}]}, "isrc", "not an ISRC"),
        ({"tracks": [{"track_id": 0, "isrc": "USS1Z26000011"}]}, "isrc", "not an ISRC"),
        ({"tracks": [{"track_id": 0, "credits": [{"role": "drummer", "name": "x"}]}]}, "role",
         "Input should be"),
        ({"tracks": [{"track_id": 0, "credits": [{"role": "producer", "name": ""}]}]}, "name",
         "at least 1"),
    ],
)
def test_bad_metadata_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, message: str
) -> None:
    pid = make_project(client)
    r = client.post(f"{API}/projects/{pid}/albums", json={"title": "T", "artist": "A", **change})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert message in problem["detail"], problem
    assert field in problem["detail"], problem


def test_every_field_reads_back_from_flac_and_mp3(
    client: TestClient, worker: Worker, release: dict[str, Any]
) -> None:
    zf = _export(client, worker, release["id"], ["flac", "mp3", "continuous"])
    names = zf.namelist()
    root = "Dadabots - Deep Bot (2026)"
    assert {PurePosixPath(n).parts[0] for n in names} == {root}
    cover = zf.read(f"{root}/cover.jpg")
    flacs = sorted(n for n in names if re.search(r"/\d\d - .*\.flac$", n))
    assert len(flacs) == 3
    for number, name in enumerate(flacs, start=1):
        meta = TRACK_META[number - 1]
        tags = FLAC(io.BytesIO(zf.read(name)))
        expected = {
            "TITLE": [f"Song “{number}”"], "ARTIST": ["Dadabots"], "ALBUM": ["Deep Bot"],
            "ALBUMARTIST": ["Dadabots & Friends"], "TRACKNUMBER": [str(number)],
            "TRACKTOTAL": ["3"], "DISCNUMBER": ["1"], "DISCTOTAL": ["2"], "DATE": ["2026-05-01"],
            "GENRE": ["Technical Death Metal"], "LABEL": ["Neural Records"],
            "ORGANIZATION": ["Neural Records"], "COMMENT": ["Made by SampleRNN\nrun 3, epoch 12"],
            "BARCODE": ["036000291452"],
        }
        if meta["composer"]:
            expected["COMPOSER"] = [meta["composer"]]
        if meta["isrc"]:
            expected["ISRC"] = [meta["isrc"].replace("-", "").upper()]
        for credit in meta["credits"]:
            expected.setdefault(credit["role"].upper(), []).append(credit["name"])
        assert {k.upper(): tags[k] for k in tags.keys()} == expected, name
        assert [(p.type, p.mime, p.data) for p in tags.pictures] == [(3, "image/jpeg", cover)]

    mp3s = sorted(n for n in names if n.endswith(".mp3"))
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: no MP3 copies to read")
    assert len(mp3s) == 3
    for number, name in enumerate(mp3s, start=1):
        meta = TRACK_META[number - 1]
        id3 = ID3(io.BytesIO(zf.read(name)))
        assert id3.version[:2] == (2, 4)
        text = {key: [str(v) for v in frame.text] for key, frame in id3.items()
                if hasattr(frame, "text") and not key.startswith("COMM")}
        expected = {
            "TIT2": [f"Song “{number}”"], "TPE1": ["Dadabots"], "TALB": ["Deep Bot"],
            "TPE2": ["Dadabots & Friends"], "TRCK": [f"{number}/3"], "TPOS": ["1/2"],
            "TDRC": ["2026-05-01"], "TCON": ["Technical Death Metal"], "TPUB": ["Neural Records"],
            "TXXX:BARCODE": ["036000291452"],
        }
        if meta["composer"]:
            expected["TCOM"] = [meta["composer"]]
        if meta["isrc"]:
            expected["TSRC"] = [meta["isrc"].replace("-", "").upper()]
        for credit in meta["credits"]:
            if credit["role"] in OWN_FRAME:
                expected.setdefault(OWN_FRAME[credit["role"]], []).append(credit["name"])
        assert {k: v for k, v in text.items() if k != "TIPL"} == expected, name
        people = [[ID3_ROLE[c["role"]], c["name"]] for c in meta["credits"]
                  if c["role"] in ID3_ROLE]
        assert (id3.getall("TIPL")[0].people if people else id3.getall("TIPL")) == people
        (comm,) = id3.getall("COMM")
        assert comm.text == ["Made by SampleRNN\nrun 3, epoch 12"]
        (apic,) = id3.getall("APIC")
        assert (apic.type, apic.mime, apic.data) == (3, "image/jpeg", cover)

    # The continuous edition is tagged as the album.
    whole = FLAC(io.BytesIO(zf.read(f"{root}/album.flac")))
    assert whole["ALBUM"] == ["Deep Bot"] and whole["ALBUMARTIST"] == ["Dadabots & Friends"]
    assert whole["BARCODE"] == ["036000291452"] and whole.pictures[0].data == cover


def parse_cue(text: str) -> dict[str, Any]:
    """A small cue reader: header fields and, per track, its commands in order."""
    sheet: dict[str, Any] = {"tracks": []}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        command, _, rest = line.partition(" ")
        if command == "TRACK":
            sheet["tracks"].append({"number": int(rest.split()[0]), "order": [], "index": {}})
        elif sheet["tracks"]:
            track = sheet["tracks"][-1]
            track["order"].append(command)
            if command == "INDEX":
                number, stamp = rest.split()
                mm, ss, ff = (int(x) for x in stamp.split(":"))
                track["index"][int(number)] = (mm * 60 + ss) * FPS + ff
            else:
                track[command] = rest.strip('"')
        else:
            sheet.setdefault(command, []).append(rest)
    return sheet


def test_the_cue_sheet_indexes_the_rendered_master_to_the_frame(
    client: TestClient, worker: Worker, release: dict[str, Any]
) -> None:
    zf = _export(client, worker, release["id"], ["flac", "continuous"])
    root = "Dadabots - Deep Bot (2026)"
    names = zf.namelist()
    assert f"{root}/album.cue" in names and f"{root}/album.flac" in names
    flacs = sorted(n for n in names if re.search(r"/\d\d - .*\.flac$", n))
    tracks = [sf.read(io.BytesIO(zf.read(n)), dtype="int32", always_2d=True)[0] for n in flacs]
    whole, rate = sf.read(io.BytesIO(zf.read(f"{root}/album.flac")), dtype="int32", always_2d=True)
    assert rate == SR and sf.info(io.BytesIO(zf.read(f"{root}/album.flac"))).subtype == "PCM_24"
    # album.flac is the tracks back to back, sample for sample.
    assert np.array_equal(whole, np.concatenate(tracks))
    starts = np.concatenate([[0], np.cumsum([len(t) for t in tracks])[:-1]])

    cue_text = zf.read(f"{root}/album.cue").decode("utf-8")
    sheet = parse_cue(cue_text)
    assert sheet["FILE"] == ['"album.flac" WAVE']
    assert sheet["PERFORMER"] == ['"Dadabots & Friends"'] and sheet["TITLE"] == ['"Deep Bot"']
    assert sheet["CATALOG"] == ["0036000291452"]
    assert "REM DATE 2026\r\n" in cue_text and 'REM GENRE "Technical Death Metal"' in cue_text
    assert 'REM COMMENT "Made by SampleRNN run 3, epoch 12"' in cue_text  # one line
    assert [t["number"] for t in sheet["tracks"]] == [1, 2, 3]
    gap = round(1.5 * SR)
    for k, (track, start) in enumerate(zip(sheet["tracks"], starts, strict=True)):
        assert track["TITLE"] == f"Song “{k + 1}”" and track["PERFORMER"] == "Dadabots"
        # INDEX comes after TITLE, PERFORMER, SONGWRITER and ISRC.
        first_index = track["order"].index("INDEX")
        assert all(c == "INDEX" for c in track["order"][first_index:])
        assert "TITLE" in track["order"][:first_index]
        assert track.get("ISRC", "") == TRACK_META[k]["isrc"].replace("-", "").upper()
        assert track.get("SONGWRITER", "") == TRACK_META[k]["composer"]
        # INDEX 01 is the frame nearest to where the track's file starts in album.flac.
        index01 = track["index"][1]
        assert abs(index01 * SR / FPS - start) <= SR / FPS / 2
        assert index01 == round(start * FPS / SR + 1e-9)
        assert np.array_equal(whole[start : start + 1000], tracks[k][:1000])
    # Track 2 follows a 1.5 s gap: INDEX 00 marks where that silence begins, and it is silent.
    assert set(sheet["tracks"][0]["index"]) == {1}
    assert set(sheet["tracks"][1]["index"]) == {0, 1}
    gap_start = starts[1] - gap
    assert sheet["tracks"][1]["index"][0] == round(gap_start * FPS / SR + 1e-9)
    assert not whole[gap_start : starts[1]].any() and whole[gap_start - 2000 : gap_start].any()
    # Track 3 is crossfaded into: no pregap, it starts where the mix ends.
    assert set(sheet["tracks"][2]["index"]) == {1}
    assert whole[starts[2] - 1000 : starts[2] + 1000].any()

    # tracklist.txt gives the same start times (and says where they apply).
    tracklist = zf.read(f"{root}/tracklist.txt").decode()
    listed = re.findall(r"^(\d\d)  (\d\d):(\d\d):(\d\d) ", tracklist, re.M)
    assert [int(n) for n, *_ in listed] == [1, 2, 3]
    assert [(int(m) * 60 + int(s)) * FPS + int(f) for _, m, s, f in listed] == [
        t["index"][1] for t in sheet["tracks"]
    ]
    assert "album.flac" in tracklist


def test_without_the_continuous_edition_there_is_no_cue(
    client: TestClient, worker: Worker, release: dict[str, Any]
) -> None:
    zf = _export(client, worker, release["id"], ["flac"])
    names = {PurePosixPath(n).name for n in zf.namelist()}
    assert "album.cue" not in names and "album.flac" not in names and "tracklist.txt" in names
    tracklist = zf.read(next(n for n in zf.namelist() if n.endswith("tracklist.txt"))).decode()
    assert "played one after the other" in tracklist


def test_the_check_warns_about_missing_metadata_and_refuses_a_shared_isrc(
    client: TestClient, release: dict[str, Any]
) -> None:
    check = client.get(f"{API}/albums/{release['id']}/check").json()
    # Complete album metadata; track 3 has no composer and no ISRC.
    assert check["warnings"] == [
        "Track 3 has no composer: distributors need the songwriters for publishing royalties.",
        "Track 3 has no ISRC: the distributor will assign one per recording.",
    ]
    tracks = [
        {"track_id": t["track_id"], "title": t["title"], "isrc": "USS1Z2600001"}
        for t in release["tracks"]
    ]
    client.put(f"{API}/albums/{release['id']}", json={
        "title": "Deep Bot", "artist": "Dadabots", "cover_id": release["cover_id"],
        "tracks": tracks,
    })
    check = client.get(f"{API}/albums/{release['id']}/check").json()
    assert not check["ok"]
    assert "ISRC USS1Z2600001 is given to tracks 1, 2, 3: each recording needs its own." in (
        check["problems"]
    )
    assert [w.split(":")[0] for w in check["warnings"]] == [
        "No release date", "No genre", "No label", "No UPC/EAN", "Tracks 1, 2 and 3 have no composer",
    ]
