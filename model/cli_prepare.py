"""`albumbot prepare`: album files or folders -> a SampleRNN dataset directory.

Nothing heavy is imported at import time (numpy, soundfile, tqdm load in the handler), so
`albumbot --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

_DESCRIPTION = """\
Turn one album into a training dataset, the way the paper does it: decode every file, mix it
down to mono, remove any DC offset, resample it, join the files into one album (in the order
given; files inside a folder in path order), cut out silences, then cut the album into N
overlapping chunks spread evenly from its start to its end, shuffle them with the seed and split
them 88% train / 6% valid / 6% test.

Sources are audio files or folders (searched recursively for wav flac ogg oga mp3 aiff aif m4a
aac opus wma; hidden files are skipped). M4A/AAC/WMA need ffmpeg on PATH and the pydub package.
Every file is fully decoded and checked first: an empty, truncated or non-audio file stops the
run with an error naming it, and nothing is written."""

_EPILOG = """\
output (DIR):
  manifest.json        format_version, dataset_id, sample_rate, chunk_seconds,
                       chunk_samples, n_chunks, seed, split sizes, silence report,
                       the sources, and per chunk: file, split, source file,
                       offsets (seconds) and sha256
  chunks/000000.flac   16-bit mono FLAC chunks, chunk_samples long, in shuffled
  chunks/000001.flac   order (train first, then valid, then test)
  ...

The directory appears only when complete (it is written under a hidden
temporary name beside DIR and renamed). A one-line summary is printed at the end.

examples:
  albumbot prepare ~/music/album --out data/album-16k
  albumbot prepare 01.flac 02.flac 03.flac --out data/tiny --chunks 64 --chunk-seconds 4"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "prepare",
        help="album files or folders -> dataset of shuffled overlapping chunks",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="audio file or folder of audio files, in album order")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="dataset directory to create (must not exist or be empty)")
    p.add_argument("--chunks", type=int, default=3200, metavar="N",
                   help="number of chunks to cut (default 3200, as in the paper)")
    p.add_argument("--sample-rate", type=int, choices=[16000, 32000], default=16000, metavar="SR",
                   help="sample rate of the chunks in Hz: 16000 or 32000 (default 16000)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the chunk shuffle: same seed and inputs, same dataset "
                   "(default 0)")
    p.add_argument("--chunk-seconds", type=float, default=8.0, metavar="S",
                   help="length of one chunk in seconds (default 8.0)")
    p.add_argument("--silence-threshold", type=float, default=-50.0, metavar="DBFS",
                   help="20 ms frames quieter than this RMS level count as silence "
                   "(default -50 dBFS)")
    p.add_argument("--min-silence", type=float, default=0.5, metavar="S",
                   help="silences at least this long are cut out, keeping 50 ms at each side; "
                   "shorter pauses stay (default 0.5 s)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace DIR if it already holds files (only once the new dataset is "
                   "complete)")
    p.set_defaults(handler=run_prepare)


class _StageBar:
    """One tqdm bar per pipeline stage, fed by `prepare_dataset`'s on_progress callback."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, fraction: float) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            # disable=None: no bar when stderr is not a terminal (logs, tests, pipes).
            self.bar = tqdm(total=100, desc=stage, unit="%", disable=None, leave=False)
            self.stage = stage
        self.bar.update(round(fraction * 100) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_prepare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from model.dataset import DatasetConfig, prepare_dataset

    config = DatasetConfig(
        sample_rate=args.sample_rate,
        n_chunks=args.chunks,
        chunk_seconds=args.chunk_seconds,
        seed=args.seed,
        silence_threshold_dbfs=args.silence_threshold,
        min_silence_seconds=args.min_silence,
    )
    bar = _StageBar()
    try:
        manifest = prepare_dataset(
            [Path(s) for s in args.sources],
            Path(args.out),
            config=config,
            on_progress=bar,
            overwrite=args.overwrite,
        )
    finally:
        bar.close()
    splits = manifest.splits
    silence = manifest.silence
    sys.stdout.write(
        f"prepared {manifest.n_chunks} chunks of {manifest.chunk_seconds:g} s at "
        f"{manifest.sample_rate} Hz in {args.out} (train {splits['train']}, valid "
        f"{splits['valid']}, test {splits['test']}); removed {silence.seconds_removed:.1f} s of "
        f"silence from {silence.seconds_before:.1f} s; dataset id {manifest.dataset_id}\n"
    )
    return 0
