"""The export chain end to end, the way the export job strings the modules together."""

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from app.audio.edl import EditList
from app.audio.master import TrackToCheck, check_tracks, master_album, write_flac
from app.audio.package import AlbumMeta, ReleaseTrack, build_release_zip
from app.audio.render import render_track
from model.loudness import integrated_lufs, true_peak_dbtp

CLIP_SR = 16000  # SampleRNN output: 16 kHz mono


def _clip(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(20 * CLIP_SR) / CLIP_SR
    tone = np.sin(2 * np.pi * rng.uniform(100, 300) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    return (0.2 * tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def test_edl_to_release_zip(tmp_path) -> None:
    clips = {1: _clip(1), 2: _clip(2), 3: _clip(3)}

    def load_clip(clip_id):
        return clips[clip_id], CLIP_SR

    songs = [
        EditList.from_json(  # stitched from two clips, crossfaded
            [
                {"clip_id": 1, "start_s": 0, "end_s": 18, "fade_in_s": 1},
                {"clip_id": 2, "start_s": 2, "end_s": 16, "fade_out_s": 3},
            ]
        ),
        EditList.from_json(  # a motif repeated, layered L/R with a second clip
            {
                "items": [
                    {"clip_id": 3, "start_s": 1, "end_s": 9, "repeat": 4},
                    {"clip_id": 1, "start_s": 0, "end_s": 19, "lane": 1, "gain_db": -6},
                ],
                "lanes": {"0": {"pan": -1}, "1": {"pan": 1, "offset_s": 0.25}},
                "repeat_crossfade_s": 0.05,
            }
        ),
    ]
    titles = ["First Light", "../Second"]
    rendered = [render_track(edl, load_clip, sample_rate=CLIP_SR) for edl in songs]
    checks = [TrackToCheck(t, a, CLIP_SR) for t, a in zip(titles, rendered, strict=True)]
    assert check_tracks(checks) == []

    album = master_album(rendered, CLIP_SR)
    masters = [
        write_flac(tmp_path / f"{i}.flac", audio, album.sample_rate)
        for i, audio in enumerate(album.tracks, start=1)
    ]
    cover = tmp_path / "cover.jpg"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(cover, "JPEG")
    manifest = {
        "edls": [edl.to_json() for edl in songs],
        "loudness": album.report(),
    }
    result = build_release_zip(
        tmp_path / "release.zip",
        AlbumMeta(title="Test", artist="Bot", year=2026),
        [ReleaseTrack(t, p) for t, p in zip(titles, masters, strict=True)],
        cover,
        manifest,
        formats=("flac", "mp3"),
        ffmpeg=None,
    )
    with zipfile.ZipFile(result.path) as zf:
        flacs = sorted(n for n in zf.namelist() if n.endswith(".flac"))
        assert flacs == [
            "Bot - Test (2026)/01 - First Light.flac",
            "Bot - Test (2026)/02 - _Second.flac",
        ]
        audio = [sf.read(io.BytesIO(zf.read(n)), always_2d=True) for n in flacs]
        written = json.loads(zf.read("Bot - Test (2026)/manifest.json"))
    assert all(sr == 44100 and a.shape[1] == 2 for a, sr in audio)
    whole = np.concatenate([a for a, _ in audio]).T
    assert integrated_lufs(whole, 44100) == pytest.approx(-14.0, abs=0.5)
    assert all(true_peak_dbtp(a.T, 44100) <= -1.0 for a, _ in audio)
    assert EditList.from_json(written["edls"][1]) == songs[1]
    assert written["notes"] and "ffmpeg" in written["notes"][0]
