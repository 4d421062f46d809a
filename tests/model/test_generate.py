"""Generation: streaming blocks, bounded memory for long clips, priming, and writing files."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from model.config import SampleRNNConfig
from model.generate import generate, write_clips
from model.samplernn import SampleRNN
from model.streams import noise_frames, stream_seed

CFG = SampleRNNConfig(dim=32, n_rnn=1, cell="gru", embed_size=8, mlp_layers=1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SampleRNN(CFG).eval()


def test_blocks_arrive_in_order_and_add_up_to_the_clip(model):
    blocks = []
    whole = generate(model, n=3, seconds=0.55, seed=1, block_seconds=0.1, on_block=lambda s, a: blocks.append((s, a.copy())))
    assert whole.shape == (3, 8800)
    starts = [s for s, _ in blocks]
    assert starts == sorted(starts) and starts[0] == 0 and len(blocks) == 6
    assert np.array_equal(np.concatenate([a for _, a in blocks], axis=1), whole)
    assert np.abs(whole).max() <= 1.0


def test_block_size_does_not_change_the_samples(model):
    a = generate(model, n=2, seconds=0.3, seed=9, block_seconds=0.05)
    b = generate(model, n=2, seconds=0.3, seed=9, block_seconds=1.0)
    assert np.array_equal(a, b)


BATCH_SHAPES = [
    CFG,
    SampleRNNConfig(frame_sizes=(4, 4), dim=48, n_rnn=2, cell="lstm", embed_size=8),
]


@pytest.mark.parametrize("cfg", BATCH_SHAPES, ids=lambda c: f"{c.cell}-{c.frame_sizes}")
def test_clip_i_is_the_same_audio_whatever_the_batch(cfg):
    """Each clip has its own seed: clip i of a batch of 8 is the clip made alone (k = 1), and
    clip i of n=3 is clip i of n=8, at any temperature."""
    torch.manual_seed(0)
    model = SampleRNN(cfg).eval()
    seeds = [stream_seed(4, i) for i in range(8)]
    for temperature in (1.0, 0.5):
        eight = generate(model, seeds=seeds, seconds=0.3, temperature=temperature)
        for i in (0, 5):
            alone = generate(model, seeds=[seeds[i]], seconds=0.3, temperature=temperature)
            assert np.array_equal(alone[0], eight[i]), (temperature, i)
        three = generate(model, n=3, seed=4, seconds=0.3, temperature=temperature)
        assert np.array_equal(three, eight[:3])
    assert len({clip.tobytes() for clip in eight}) == 8


def test_a_longer_clip_starts_with_the_shorter_one(model):
    """Noise comes in blocks of a size fixed by the model, so a clip's first seconds do not
    depend on how long it will be (what a live stream needs)."""
    assert noise_frames(16, 256) == 32  # 512 samples per block
    short = generate(model, seeds=[3, 4], seconds=0.1)
    long = generate(model, seeds=[3, 4], seconds=0.25)
    assert np.array_equal(long[:, : short.shape[1]], short)


def test_seeds_and_n_must_agree(model):
    with pytest.raises(ValueError, match="n=2 but 3 seeds"):
        generate(model, n=2, seeds=[1, 2, 3], seconds=0.1)


MEMORY_PROBE = """
import resource, sys, torch
from model.config import SampleRNNConfig
from model.generate import generate
from model.samplernn import SampleRNN
from model.streams import noise_frames, stream_seed
torch.set_num_threads(1)
torch.manual_seed(0)
model = SampleRNN(SampleRNNConfig(dim=32, n_rnn=1, cell="gru", embed_size=8, mlp_layers=1)).eval()
blocks = []
generate(model, n=64, seconds=float(sys.argv[1]), keep=False, block_seconds=0.5,
         on_block=lambda start, audio: blocks.append(audio.shape[1]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, sum(blocks))
"""


def _peak_rss(seconds: float) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(seconds)], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def test_long_clips_stream_in_bounded_memory():
    """64 streams for 2 s and for 6 s with keep=False: the peak memory of the process grows by far
    less than the extra audio would take (64 x 4 s x 16 kHz x 12 bytes = 49 MB as levels + floats),
    so memory is bounded by the block, not by the clip length (measured: 2 s and 10 s peak alike)."""
    short_rss, short_samples = _peak_rss(2.0)
    long_rss, long_samples = _peak_rss(6.0)
    assert (short_samples, long_samples) == (32000, 96000)
    extra_audio = 64 * (long_samples - short_samples) * 12
    assert long_rss - short_rss < extra_audio / 4, (short_rss, long_rss)


def test_priming_continues_from_the_excerpt(model):
    t = np.arange(16000) / 16000
    excerpt = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    a = generate(model, n=2, seconds=0.2, seed=3, prime=excerpt)
    b = generate(model, n=2, seconds=0.2, seed=3, prime=excerpt)
    c = generate(model, n=2, seconds=0.2, seed=3)
    d = generate(model, n=2, seconds=0.2, seed=3, prime=-excerpt)
    assert a.shape == (2, 3200)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    with pytest.raises(ValueError, match="at least 16 samples"):
        generate(model, n=1, seconds=0.1, prime=excerpt[:10])


def test_bad_arguments_name_the_value(model):
    with pytest.raises(ValueError, match="temperature"):
        generate(model, n=1, seconds=0.1, temperature=-1)
    with pytest.raises(ValueError, match="seconds"):
        generate(model, n=1, seconds=0)
    with pytest.raises(ValueError, match="n must be"):
        generate(model, n=0, seconds=0.1)


@pytest.mark.parametrize("ext,fmt", [("wav", "WAV"), ("flac", "FLAC")])
def test_clips_are_written_while_generating_and_renamed_at_the_end(model, tmp_path, ext, fmt):
    paths = [tmp_path / f"clip-{i}.{ext}" for i in range(2)]
    seen_partial = []

    with write_clips(paths, 16000) as write:
        def on_block(start, audio):
            write(start, audio)
            seen_partial.append(sorted(p.name for p in tmp_path.iterdir()))

        audio = generate(model, n=2, seconds=0.3, seed=2, block_seconds=0.1, on_block=on_block)
    assert seen_partial[0] == [f".clip-0.{ext}.part", f".clip-1.{ext}.part"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]
    for p, clip in zip(paths, audio, strict=True):
        data, sr = sf.read(p, dtype="float32")
        assert sf.info(p).format == fmt and sr == 16000 and data.shape == clip.shape
        assert np.abs(data - clip).max() < 1e-4  # 16-bit PCM


def test_a_failed_generation_leaves_no_files(model, tmp_path):
    paths = [tmp_path / "a.flac"]
    with pytest.raises(RuntimeError):
        with write_clips(paths, 16000) as write:
            def on_block(start, audio):
                write(start, audio)
                raise RuntimeError("disk gone")

            generate(model, n=1, seconds=0.3, on_block=on_block)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"\.mp3"):
        with write_clips([tmp_path / "x.mp3"], 16000):
            pass
