"""A project with a row in every table the archive carries and a file behind every key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Album, AlbumTrack, Checkpoint, Clip, Cover, Export, Marker, Title
from app.storage import Storage
from tests.albums.factories import add_run, make_track, upload_image
from tests.portability.checkpoints import tiny_checkpoint
from tests.worker.harness import album_files

API = "/api/v1"


def make_rich_project(client: TestClient, session: Session, tmp: Path) -> int:
    """Sources, titles, images, a run of 2 epochs (real checkpoint files, clips with peaks,
    analysis and closeness, a marker), a song, generated titles, covers (one cropped), an album
    with its track list and a finished export."""
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    pid = int(client.post(f"{API}/projects", json={
        "name": "Home ünïcode", "artist": "Band", "description": "round trip"}).json()["id"])
    assert client.post(f"{API}/projects/{pid}/sources", files=album_files(2.0, 2)).status_code == 201
    assert client.put(f"{API}/projects/{pid}/titles", json=["One", "Two", "Three"]).status_code == 200
    cover_image = upload_image(client, pid, "cover", seed=1)
    photo = upload_image(client, pid, "photo", seed=2)
    sources = [s["id"] for s in client.get(f"{API}/projects/{pid}/sources").json()["data"]]

    run = add_run(session, storage, pid, epochs=2, per_epoch=2, seconds=1.0)
    run.metrics = [{"epoch": 1, "train_nll_bits": 6.5}, {"epoch": 2, "train_nll_bits": 6.0}]
    for ck in session.scalars(select(Checkpoint).where(Checkpoint.run_id == run.id)):
        ck.path = f"projects/{pid}/runs/{run.id}/checkpoints/epoch-{ck.epoch:04d}.pt"
        tiny_checkpoint(storage.path(ck.path), epoch=ck.epoch, seed=ck.epoch)
        ck.valid_nll_bits, ck.style_distance, ck.analyzed_clips = 6.25, 3.5, 2
    clips = list(session.scalars(select(Clip).where(Clip.run_id == run.id).order_by(Clip.id)))
    for i, clip in enumerate(clips):
        clip.peaks_path = clip.audio_path.removesuffix(".wav") + ".peaks.json"
        storage.write_bytes(clip.peaks_path, json.dumps({"peaks": [i, -i]}).encode())
        clip.rating, clip.kept, clip.tags, clip.notes = i % 5, i % 2 == 0, ["dark", f"t{i}"], "nb"
        clip.closeness = {
            "source_track_id": sources[i % 2], "source_name": "a.wav", "source_offset_s": 0.5,
            "clip_offset_s": 0.0, "similarity": 0.8, "seconds_matched": 0.25,
            "longest_run_s": 0.25, "share": 0.25, "copied": False,
        }
        clip.originality, clip.quality, clip.flag_mask = 0.75, 0.5 + i / 10, 0
        clip.analysis = {"scores": {"hiss": 0.1}, "fingerprint": [0.1 * i, 1e-9]}
        clip.analyzed_at = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
    session.add(Marker(clip_id=clips[0].id, time_s=0.25, label="good motif"))
    session.add_all([Title(project_id=pid, text=t, position=i, picked=i == 0)
                     for i, t in enumerate(["Night Ünder", "Grave"])])
    original = f"projects/{pid}/covers/job-1-0.jpg"
    crop = f"projects/{pid}/covers/1-crop-abc.jpg"
    storage.write_bytes(original, b"\xff\xd8original")
    storage.write_bytes(crop, b"\xff\xd8crop")
    covers = [
        Cover(project_id=pid, method="self-style", path=crop, picked=True, params={
            "backend": "mosaic", "seed": 1, "size": 1400, "sources": [cover_image],
            "original": original, "crop": {"x": 0, "y": 0, "size": 64}}),
        Cover(project_id=pid, method="band-photos", path=original, params={
            "backend": "mosaic", "seed": 2, "size": 1400, "sources": [cover_image, photo],
            "original": original, "crop": None, "from_sound": [clips[1].id]}),
    ]
    session.add_all(covers)
    session.commit()
    edl = [{"clip_id": clips[0].id, "start_s": 0.0, "end_s": 0.5},
           {"clip_id": clips[3].id, "start_s": 0.1, "end_s": 0.9, "lane": 1, "pan": -1.0}]
    track = make_track(client, pid, edl, name="Song")
    album = Album(project_id=pid, title="New Album", artist="Bot", cover_id=covers[0].id,
                  genre="Metal", upc="123456789012", disc_number=1, disc_total=2)
    session.add(album)
    session.flush()
    session.add(AlbumTrack(album_id=album.id, position=0, track_id=track["id"], title="One",
                           gap_s=1.5, isrc="USABC2600001", credits=[{"role": "writer",
                                                                     "name": "SampleRNN"}]))
    export_key = f"projects/{pid}/exports/7.zip"
    storage.write_bytes(export_key, b"PK\x05\x06" + bytes(18))
    session.add(Export(album_id=album.id, formats=["flac"], status="succeeded", path=export_key,
                       size_bytes=22))
    session.add(Export(album_id=album.id, formats=["flac"], status="running"))  # not carried
    session.commit()
    return pid
