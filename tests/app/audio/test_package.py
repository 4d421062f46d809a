import io
import json
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from PIL import Image

from app.audio.master import write_flac
from app.audio.package import (
    NO_FFMPEG_NOTE,
    AlbumMeta,
    PackageError,
    ReleaseTrack,
    build_release_zip,
)
from app.audio.tags import CoverArt, TaggingError, TrackTags, tag_flac, tag_mp3

SR = 44100
HOSTILE_TITLES = ["../../x", "A" * 300, "con", "\u202eevil\x00/\\:name", ""]


@pytest.fixture(scope="module")
def cover_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cover") / "cover.jpg"
    Image.new("RGB", (64, 64), (200, 30, 90)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def masters(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("masters")
    paths = []
    for i in range(len(HOSTILE_TITLES)):
        t = np.arange(int(0.3 * SR)) / SR
        tone = 0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t)
        paths.append(write_flac(folder / f"{i}.flac", np.stack([tone, tone]), SR))
    return paths


ALBUM = AlbumMeta(
    title="Deep Album", artist="The Band/..", year=2026, comment="albumbot run 3 epoch 12"
)


def _tracks(masters: list[Path]) -> list[ReleaseTrack]:
    return [ReleaseTrack(title=t, flac_path=p) for t, p in zip(HOSTILE_TITLES, masters, strict=True)]


def _safe_member(name: str) -> bool:
    parts = name.split("/")
    return (
        not name.startswith("/")
        and "\\" not in name
        and "\x00" not in name
        and all(p not in ("", ".", "..") for p in parts)
        and all(len(p.encode()) <= 200 for p in parts)
    )


def test_release_zip_layout_tags_and_cover(tmp_path, masters, cover_path) -> None:
    out = tmp_path / "release.zip"
    result = build_release_zip(
        out,
        ALBUM,
        _tracks(masters),
        cover_path,
        {"run": 3, "epoch": 12},
        formats=("flac", "wav"),
        ffmpeg=None,
    )
    assert result.path == out and out.is_file()
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert names == result.members
        folder = "The Band_.. - Deep Album (2026)"
        assert all(n.startswith(folder + "/") for n in names)
        assert all(_safe_member(n) for n in names)
        flacs = [n for n in names if n.endswith(".flac")]
        assert flacs[0] == f"{folder}/01 - _.._x.flac"
        assert flacs[2] == f"{folder}/03 - _con.flac"
        assert flacs[4] == f"{folder}/05 - Track 5.flac"
        assert len(flacs[1].split("/")[1].encode()) == 200
        assert f"{folder}/cover.jpg" in names and f"{folder}/tracklist.txt" in names
        assert [n for n in names if "/distributor/" in n] == [
            f"{folder}/distributor/{i:02d}.wav" for i in range(1, 6)
        ]
        assert zf.testzip() is None
        for number, name in enumerate(flacs, start=1):
            data = zf.read(name)
            audio, sr = sf.read(io.BytesIO(data))
            assert sr == SR and audio.shape == (int(0.3 * SR), 2)
            local = tmp_path / f"{number}.flac"
            local.write_bytes(data)
            tags = FLAC(local)
            title = HOSTILE_TITLES[number - 1].replace("\x00", "") or "Track 5"
            assert tags["TITLE"] == [title]
            assert tags["ARTIST"] == ["The Band/.."] and tags["ALBUMARTIST"] == ["The Band/.."]
            assert tags["ALBUM"] == ["Deep Album"] and tags["DATE"] == ["2026"]
            assert tags["TRACKNUMBER"] == [str(number)] and tags["TRACKTOTAL"] == ["5"]
            assert tags["COMMENT"] == ["albumbot run 3 epoch 12"]
            (picture,) = tags.pictures
            assert picture.type == 3 and picture.mime == "image/jpeg"
            assert picture.data == cover_path.read_bytes() and (picture.width, picture.height) == (
                64,
                64,
            )
        wav = sf.info(io.BytesIO(zf.read(f"{folder}/distributor/01.wav")))
        assert (wav.samplerate, wav.channels, wav.subtype) == (SR, 2, "PCM_24")
        manifest = json.loads(zf.read(f"{folder}/manifest.json"))
        assert manifest["run"] == 3 and manifest["epoch"] == 12
        assert [f["name"] for f in manifest["files"]] == names[:-1]
        assert zf.read(f"{folder}/cover.jpg") == cover_path.read_bytes()
        tracklist = zf.read(f"{folder}/tracklist.txt").decode()
        assert tracklist.splitlines()[0] == "The Band/.. - Deep Album (2026)"
        # 0.3 s tracks back to back: track 5 starts at 1.2 s, frame 90 (75 frames per second)
        assert "05  00:01:15    0:00  Track 5" in tracklist
    assert result.notes == []
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["release.zip", *(f"{i}.flac" for i in range(1, 6))]
    )


def test_same_inputs_give_the_same_zip_bytes(tmp_path, masters, cover_path) -> None:
    a = build_release_zip(
        tmp_path / "a.zip", ALBUM, _tracks(masters)[:2], cover_path, {"seed": 1}, ffmpeg=None
    )
    b = build_release_zip(
        tmp_path / "b.zip", ALBUM, _tracks(masters)[:2], cover_path, {"seed": 1}, ffmpeg=None
    )
    assert a.path.read_bytes() == b.path.read_bytes()


def test_missing_ffmpeg_is_a_manifest_note_not_a_failure(tmp_path, masters, cover_path) -> None:
    result = build_release_zip(
        tmp_path / "r.zip",
        ALBUM,
        _tracks(masters)[:1],
        cover_path,
        {"notes": ["curated"]},
        formats=("flac", "mp3"),
        ffmpeg=None,
    )
    assert result.notes == [NO_FFMPEG_NOTE]
    with zipfile.ZipFile(result.path) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".mp3")]
        manifest = json.loads(
            zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json")))
        )
    assert manifest["notes"] == ["curated", NO_FFMPEG_NOTE]


def _fake_ffmpeg(folder: Path) -> Path:
    """Stands in for ffmpeg: decodes -i with soundfile and writes an MP3 with libsndfile's LAME."""
    script = folder / "ffmpeg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, soundfile as sf\n"
        "args = sys.argv[1:]\n"
        "assert args[args.index('-codec:a') + 1] == 'libmp3lame'\n"
        "data, sr = sf.read(args[args.index('-i') + 1])\n"
        "sf.write(args[-1], data, sr, format='MP3', subtype='MPEG_LAYER_III')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.parametrize("encoder", ["stand-in", "real ffmpeg"])
def test_mp3_copies_are_encoded_and_tagged_id3v24(tmp_path, masters, cover_path, encoder) -> None:
    if encoder == "real ffmpeg":
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            pytest.skip("ffmpeg is not installed (.ci/run installs Debian's ffmpeg)")
    else:
        ffmpeg = str(_fake_ffmpeg(tmp_path))
    result = build_release_zip(
        tmp_path / "r.zip",
        ALBUM,
        _tracks(masters)[:2],
        cover_path,
        {},
        formats=("flac", "mp3"),
        ffmpeg=ffmpeg,
    )
    assert result.notes == []
    with zipfile.ZipFile(result.path) as zf:
        mp3s = [n for n in zf.namelist() if n.endswith(".mp3")]
        assert mp3s == [
            "The Band_.. - Deep Album (2026)/mp3/01 - _.._x.mp3",
            f"The Band_.. - Deep Album (2026)/mp3/02 - {'A' * (200 - 5 - 4)}.mp3",
        ]
        local = tmp_path / "x.mp3"
        local.write_bytes(zf.read(mp3s[1]))
    id3 = ID3(local)
    assert id3.version == (2, 4, 0)
    assert str(id3["TIT2"]) == "A" * 300 and str(id3["TPE1"]) == "The Band/.."
    assert str(id3["TALB"]) == "Deep Album" and str(id3["TPE2"]) == "The Band/.."
    assert str(id3["TRCK"]) == "2/2" and str(id3["TDRC"]) == "2026"
    apic = id3.getall("APIC")[0]
    assert apic.type == 3 and apic.data == cover_path.read_bytes()
    assert MP3(local).info.length > 0.2


def test_a_failure_leaves_nothing_behind(tmp_path, masters, cover_path, monkeypatch) -> None:
    from app.audio import package

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(package.cue, "tracklist", broken)
    out = tmp_path / "r.zip"
    with pytest.raises(OSError, match="disk full"):
        build_release_zip(
            out, ALBUM, _tracks(masters)[:2], cover_path, {}, formats=("flac", "wav"), ffmpeg=None
        )
    assert os.listdir(tmp_path) == []


def test_bad_inputs_are_refused_before_writing(tmp_path, masters, cover_path) -> None:
    with pytest.raises(PackageError, match="no file"):
        build_release_zip(
            tmp_path / "r.zip",
            ALBUM,
            [ReleaseTrack("x", tmp_path / "missing.flac")],
            cover_path,
            {},
        )
    with pytest.raises(PackageError, match="formats"):
        build_release_zip(
            tmp_path / "r.zip", ALBUM, _tracks(masters)[:1], cover_path, {}, formats=("ogg",)
        )
    png = tmp_path / "cover.png"
    Image.new("RGB", (8, 8)).save(png, "PNG")
    with pytest.raises(TaggingError, match="JPEG"):
        build_release_zip(tmp_path / "r.zip", ALBUM, _tracks(masters)[:1], png, {})
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff not really")
    with pytest.raises(TaggingError, match="readable"):
        CoverArt.from_jpeg(tmp_path / "bad.jpg")
    assert sorted(os.listdir(tmp_path)) == ["bad.jpg", "cover.png"]


def test_tagging_twice_replaces_the_tags(tmp_path, masters, cover_path) -> None:
    path = tmp_path / "t.flac"
    path.write_bytes(masters[0].read_bytes())
    cover = CoverArt.from_jpeg(cover_path)
    tags = TrackTags(
        title="One",
        artist="A",
        album="B",
        album_artist="A",
        track_number=1,
        track_total=9,
        genre="Noise",
    )
    tag_flac(path, tags, cover)
    once = path.read_bytes()
    tag_flac(path, tags, cover)
    assert path.read_bytes() == once
    assert len(FLAC(path).pictures) == 1 and FLAC(path)["GENRE"] == ["Noise"]


def test_mp3_tag_replaces_an_older_id3(tmp_path) -> None:
    path = tmp_path / "t.mp3"
    sf.write(path, np.zeros((SR // 4, 2)), SR, format="MP3", subtype="MPEG_LAYER_III")
    tags = TrackTags(
        title="Old", artist="A", album="B", album_artist="A", track_number=1, track_total=2
    )
    tag_mp3(path, tags)
    tag_mp3(path, TrackTags(**{**tags.__dict__, "title": "New", "disc_number": 1, "disc_total": 2}))
    id3 = ID3(path)
    assert str(id3["TIT2"]) == "New" and str(id3["TPOS"]) == "1/2" and not id3.getall("APIC")
