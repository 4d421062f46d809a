"""Small datasets for engine tests, prepared through the real dataset pipeline."""

from pathlib import Path

import pytest
import soundfile as sf

from model.dataset import DatasetConfig, prepare_dataset
from model.synth import two_note_pattern

F0 = 220.0


def make_dataset(root: Path, *, seconds: float = 60.0, n_chunks: int = 40, chunk_seconds: float = 2.0) -> Path:
    album = root / "album"
    album.mkdir(parents=True)
    sf.write(album / "pattern.wav", two_note_pattern(seconds, 22050, f0=F0, seed=0), 22050)
    out = root / "dataset"
    prepare_dataset([album], out, config=DatasetConfig(n_chunks=n_chunks, chunk_seconds=chunk_seconds))
    return out


@pytest.fixture(scope="session")
def pattern_dataset(tmp_path_factory) -> Path:
    """40 overlapping 2-second chunks of a two-note pattern at 16 kHz."""
    return make_dataset(tmp_path_factory.mktemp("pattern"))
