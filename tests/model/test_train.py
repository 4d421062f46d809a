"""Training: checkpoints, resume equivalence, refusal of foreign checkpoints, and real learning."""

import dataclasses

import numpy as np
import pytest
import torch

from model.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from model.config import SampleRNNConfig, TrainConfig, preset
from model.generate import generate
from model.train import checkpoint_path, train

from .conftest import F0

SMALL = SampleRNNConfig(dim=32, n_rnn=1, cell="gru", embed_size=8, mlp_layers=1)
QUICK = TrainConfig(batch_size=8, seq_len=256, epochs=2, max_segments_per_chunk=4, seed=7)


def test_each_epoch_writes_a_self_describing_checkpoint(pattern_dataset, tmp_path):
    seen = []
    result = train(SMALL, QUICK, pattern_dataset, tmp_path / "run", on_epoch=seen.append)
    assert [e.epoch for e in seen] == [1, 2]
    assert result.last_checkpoint == checkpoint_path(tmp_path / "run", 2)
    assert not result.stopped and result.test_nll_bits is not None
    ckpt = load_checkpoint(result.last_checkpoint)
    assert ckpt.model_config == SMALL and ckpt.train_config == QUICK
    assert ckpt.epoch == 2 and ckpt.step == seen[-1].step > seen[0].step > 0
    assert [h["epoch"] for h in ckpt.history] == [1, 2]
    assert all(np.isfinite(h["valid_nll_bits"]) for h in ckpt.history)
    assert "torch" in ckpt.rng_state and ckpt.optimizer_state["state"]
    assert ckpt.dataset_id
    # Nothing but the finished checkpoints in the run folder (temp files were renamed).
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["epoch-0001.pt", "epoch-0002.pt"]


def test_resume_continues_the_same_run_exactly(pattern_dataset, tmp_path):
    """2 epochs in one go == 1 epoch, stop, resume for 1 more: same steps, same weights."""
    straight = train(SMALL, QUICK, pattern_dataset, tmp_path / "a")
    one = dataclasses.replace(QUICK, epochs=1)
    first = train(SMALL, one, pattern_dataset, tmp_path / "b")
    resumed = train(SMALL, QUICK, pattern_dataset, tmp_path / "b", resume=first.last_checkpoint)
    a, b = load_checkpoint(straight.last_checkpoint), load_checkpoint(resumed.last_checkpoint)
    assert a.step == b.step and a.epoch == b.epoch == 2
    for k in a.model_state:
        assert torch.equal(a.model_state[k], b.model_state[k]), k
    assert a.history == b.history  # the loss curve continues instead of jumping
    assert resumed.epochs[0].epoch == 2 and resumed.epochs[0].step == a.step


def test_stop_request_keeps_finished_checkpoints(pattern_dataset, tmp_path):
    calls = {"n": 0}
    steps_per_epoch = None

    def on_epoch(e):
        nonlocal steps_per_epoch
        steps_per_epoch = e.step

    def should_stop():
        calls["n"] += 1
        return steps_per_epoch is not None and calls["n"] > steps_per_epoch + 2

    result = train(SMALL, QUICK, pattern_dataset, tmp_path / "run", on_epoch=on_epoch, should_stop=should_stop)
    assert result.stopped and [e.epoch for e in result.epochs] == [1]
    assert result.last_checkpoint == checkpoint_path(tmp_path / "run", 1)
    assert not checkpoint_path(tmp_path / "run", 2).exists()


def test_foreign_checkpoints_are_refused_with_the_reason(pattern_dataset, tmp_path):
    result = train(SMALL, dataclasses.replace(QUICK, epochs=1), pattern_dataset, tmp_path / "run")
    ckpt = load_checkpoint(result.last_checkpoint)
    with pytest.raises(CheckpointError, match=r"dim: 32 != 64"):
        train(dataclasses.replace(SMALL, dim=64), QUICK, pattern_dataset, tmp_path / "run", resume=result.last_checkpoint)
    ckpt.format_version = 99
    save_checkpoint(ckpt, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(tmp_path / "future.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="16000 Hz"):
        train(dataclasses.replace(SMALL, sample_rate=32000), QUICK, pattern_dataset, tmp_path / "x")


def test_checkpoint_round_trip_gives_identical_generation(pattern_dataset, tmp_path):
    result = train(SMALL, dataclasses.replace(QUICK, epochs=1), pattern_dataset, tmp_path / "run")
    model = load_model(result.last_checkpoint)
    save_checkpoint(load_checkpoint(result.last_checkpoint), tmp_path / "copy.pt")
    again = load_model(tmp_path / "copy.pt")
    a = generate(model, n=2, seconds=0.1, seed=5)
    b = generate(again, n=2, seconds=0.1, seed=5)
    assert np.array_equal(a, b)


def spectral_peak_hz(audio: np.ndarray, sr: int) -> float:
    x = audio - audio.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    band = freqs > 50  # ignore DC drift
    return float(freqs[band][np.argmax(spectrum[band])])


@pytest.mark.slow
def test_tiny_preset_learns_a_two_note_pattern(pattern_dataset, tmp_path):
    """Honest learning: validation NLL far below a uniform guess (8 bits), and the generated audio
    has its spectral peak at the training signal's fundamental, which noise or silence cannot."""
    tiny = preset("tiny")
    torch.set_num_threads(2)
    cfg = dataclasses.replace(tiny.train, epochs=3, seed=0)
    result = train(tiny.model, cfg, pattern_dataset, tmp_path / "run")
    valid = [e.valid_nll_bits for e in result.epochs]
    assert valid[-1] < 3.2, valid  # a uniform guess over 256 levels is 8 bits; measured 2.4
    assert valid[-1] < valid[0]
    assert result.test_nll_bits < 3.2
    audio = generate(load_model(result.last_checkpoint), n=2, seconds=2.0, seed=0)
    for clip in audio:
        assert clip.std() > 0.02, "generated silence"
        assert abs(spectral_peak_hz(clip, 16000) - F0) < 15, spectral_peak_hz(clip, 16000)
