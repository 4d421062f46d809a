"""`albumbot analyze`: what the catalog knows about a clip, for any audio files outside it.

Per file: the pathology flags with scores and reasons, the closeness to an album (matched source
file and offset, seconds matched, longest run, copied), the style distance and the quality
score; and the style distance of the whole set. Nothing heavy is imported at import time.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .closeness import AlbumIndex

_DESCRIPTION = """\
Analyse audio files the way the studio analyses generated clips: pathology flags (silent, noise,
exploded, drone, loop with its period and start, dc, clipped; each with a score 0..1, raised
from 0.5, and a one-line reason), and with --against an album: the closeness to it (the
best-matching source file and offset, how many seconds follow the album closely, the longest
run, `copied` from 4 s), the style distance (Fréchet distance of frame features to the album's)
and a quality score 0..1. The style distance of all the files together comes last."""

_EPILOG = """\
--against takes a dataset made by `albumbot prepare` (its album index is built from the
dataset's source files once and cached in the dataset as album-index-v1.npz) or a folder of
album files (indexed each time).

examples:
  albumbot analyze clip1.wav clip2.flac
  albumbot analyze runs/a/clips/*.wav --against data/album-16k --json
  albumbot analyze take.wav --against ~/music/album"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help="flags, closeness to the album, style distance and quality of audio files",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to analyse")
    p.add_argument("--against", metavar="DATASET_DIR",
                   help="a prepared dataset (or a folder of album files) to compare with")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_analyze)


def album_index(against: str, *, progress: bool = True) -> AlbumIndex:
    """The album index of a dataset directory (cached in it) or of a folder of album files.
    ValueError / FileNotFoundError with a one-line reason when it cannot be made."""
    from tqdm import tqdm

    from .audio import AudioError, decode, find_audio_files
    from .closeness import AlbumIndex, index_path
    from .manifest import MANIFEST_NAME, load_manifest

    folder = Path(against)
    if not folder.exists():
        raise FileNotFoundError(f"{against}: no such dataset or folder")
    dataset = (folder / MANIFEST_NAME).is_file()
    if dataset:
        cached = index_path(folder)
        if cached.is_file():
            try:
                return AlbumIndex.load(cached)
            except ValueError:
                pass  # another version: build it again
        paths = [Path(s.path) for s in load_manifest(folder).sources]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"{against}: the album index is built from the dataset's source files, and "
                f"{missing[0]} is not there any more (pass the album's folder to --against)"
            )
    else:
        try:
            paths = find_audio_files([folder])
        except AudioError:
            paths = []
        if not paths:
            raise ValueError(f"{against}: neither a dataset (no {MANIFEST_NAME}) nor album audio")
    bar = tqdm(total=len(paths), desc="indexing the album", unit="track", disable=not progress,
               file=sys.stderr)
    index = AlbumIndex.build(
        [(str(p), p.name, partial(decode, p)) for p in paths],
        on_track=lambda i: bar.update(i - bar.n),
    )
    bar.update(bar.total - bar.n)
    bar.close()
    if dataset:
        index.save(index_path(folder))
    return index


def analyze_files(
    files: list[str], against: str | None = None, *, progress: bool = True
) -> dict[str, Any]:
    """{"album": ..., "files": [per file], "style_distance": the whole set's} (JSON-able)."""
    from tqdm import tqdm

    from .analysis import analyze
    from .audio import decode
    from .style import FrameStats, frechet_distance

    paths = [Path(f) for f in files]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    index = album_index(against, progress=progress) if against else None
    out, pooled = [], None
    for path in tqdm(paths, desc="analysing", unit="file", disable=not progress, file=sys.stderr):
        audio, sr = decode(path)  # AudioError (a ValueError) names the file
        result = analyze(audio, sr, index)
        entry = {"file": str(path), **result.to_dict()}
        if entry["closeness"]:
            entry["closeness"]["source_file"] = entry["closeness"].pop("source")
        out.append(entry)
        if result.stats is not None:
            pooled = result.stats if pooled is None else pooled + result.stats
    whole = None
    if index is not None and isinstance(pooled, FrameStats) and pooled.n >= 2:
        whole = round(frechet_distance(pooled, index.style_stats), 4)
    album = None if index is None else {
        "against": against, "tracks": len(index.sources), "seconds": round(index.seconds, 1),
    }
    return {"album": album, "files": out, "style_distance": whole}


def run_analyze(args: argparse.Namespace) -> int:
    report = analyze_files(args.files, args.against, progress=not args.json)
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for entry in report["files"]:
        sys.stdout.write(_line(entry) + "\n")
    if report["style_distance"] is not None:
        sys.stdout.write(f"style distance of the {len(report['files'])} files together to the "
                         f"album: {report['style_distance']:.2f}\n")
    return 0


def _line(entry: dict[str, Any]) -> str:
    from .analysis import clock

    parts = [entry["file"], f"quality {entry['quality']:.2f}"]
    if entry["style_distance"] is not None:
        parts.append(f"style distance {entry['style_distance']:.1f}")
    flags = entry["flags"]
    parts.append("flags: " + ("; ".join(f"{f['name']} ({f['reason']})" for f in flags)
                              if flags else "none"))
    c = entry["closeness"]
    if c and c["seconds_matched"]:
        parts.append(
            f"follows {c['source_name']} at {clock(c['source_offset_s'])} from the clip's "
            f"{clock(c['clip_offset_s'])}: {c['seconds_matched']:.1f} s follow the album, "
            f"longest {c['longest_run_s']:.1f} s"
        )
    elif c:
        parts.append(f"follows no stretch of the album (closest moment: {c['source_name']} at "
                     f"{clock(c['source_offset_s'])})")
    return "  ".join(parts)
