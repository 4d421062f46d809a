"""The network's shapes, lookback and receptive field, and that the fast sampler computes exactly
what the training graph computes."""

import numpy as np
import pytest
import torch

from model.config import PRESETS, SampleRNNConfig
from model.generate import generate
from model.samplernn import SampleRNN, count_parameters

SMALL = dict(dim=48, n_rnn=2, embed_size=16, mlp_layers=1)
SHAPES = [
    SampleRNNConfig(frame_sizes=(16,), cell="gru", **SMALL),
    SampleRNNConfig(frame_sizes=(16,), cell="lstm", skip_connections=False, weight_norm=False, **SMALL),
    SampleRNNConfig(frame_sizes=(4, 4), cell="lstm", **SMALL),
    SampleRNNConfig(frame_sizes=(8, 2), cell="gru", quantization="mulaw", q_levels=64, **SMALL),
]


@pytest.mark.parametrize("cfg", SHAPES, ids=lambda c: f"{c.cell}-{c.frame_sizes}")
def test_forward_shapes_and_state(cfg):
    model = SampleRNN(cfg)
    b, length = 3, 4 * cfg.lookback
    x = torch.randint(0, cfg.q_levels, (b, cfg.lookback + length))
    logits, state = model(x, model.initial_state(b))
    assert logits.shape == (b, length, cfg.q_levels)
    assert len(state) == len(cfg.frame_sizes)
    n_state = 2 if cfg.cell == "lstm" else 1
    for tier in state:
        assert len(tier) == cfg.n_rnn
        assert all(len(layer) == n_state and layer[0].shape == (b, cfg.dim) for layer in tier)


def test_lookback_is_the_top_frame():
    assert SampleRNNConfig(frame_sizes=(16,)).lookback == 16
    assert SampleRNNConfig(frame_sizes=(16, 4)).lookback == 64
    assert SampleRNNConfig(frame_sizes=(16, 4)).tier_frame_samples == (16, 64)


@pytest.mark.parametrize("cfg", SHAPES[:3], ids=lambda c: f"{c.cell}-{c.frame_sizes}")
def test_prediction_is_causal_with_receptive_field_of_the_mlp_frame(cfg):
    """Sample t's logits depend on samples < t only; within its frame the MLP sees F back."""
    torch.manual_seed(0)
    model = SampleRNN(cfg).eval()
    length = 2 * cfg.lookback
    x = torch.randint(0, cfg.q_levels, (1, cfg.lookback + length))
    base, _ = model(x, model.initial_state(1))
    t = cfg.lookback + length // 2  # change one input sample
    y = x.clone()
    y[0, t] = (y[0, t] + 7) % cfg.q_levels
    changed, _ = model(y, model.initial_state(1))
    diff = (changed - base).abs().amax(dim=-1)[0]  # per predicted position
    pos = t - cfg.lookback  # index of sample t among the predictions
    assert torch.all(diff[: pos + 1] == 0), "a prediction depended on its own or a later sample"
    assert diff[pos + 1] > 0, "the next sample did not see the changed one"
    f = cfg.frame_sizes[0]
    assert torch.all(diff[pos + 1 : pos + f] > 0)


def test_paper_preset_is_the_papers_model():
    p = PRESETS["paper"]
    m = p.model
    assert (m.frame_sizes, m.dim, m.n_rnn, m.cell, m.embed_size, m.q_levels) == ((16,), 1024, 5, "lstm", 256, 256)
    assert (m.quantization, m.sample_rate, m.skip_connections, m.weight_norm) == ("linear", 16000, True, True)
    assert p.train.batch_size == 128
    assert count_parameters(SampleRNN(m)) > 40_000_000  # 5 x 1024 LSTM layers dominate


def test_config_rejects_bad_values_by_name():
    with pytest.raises(ValueError, match="cell"):
        SampleRNNConfig(cell="rnn")
    with pytest.raises(ValueError, match="sample_rate"):
        SampleRNNConfig(sample_rate=22050)
    with pytest.raises(ValueError, match="bogus"):
        SampleRNNConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize("cfg", SHAPES, ids=lambda c: f"{c.cell}-{c.frame_sizes}")
def test_sampler_agrees_with_the_training_graph(cfg):
    """Greedy generation from the learned h0, teacher-forced back through the training graph:
    every generated sample is the argmax the training graph predicts at that position."""
    torch.manual_seed(1)
    model = SampleRNN(cfg).eval()
    with torch.no_grad():  # make h0 non-trivial so the test sees the state plumbing
        for tier in model.tiers:
            tier.h0.normal_(0, 0.5)
    from model.sampler import Sampler

    n, frames = 2, 12
    sampler = Sampler(model, n)
    sampler.reset(torch.Generator().manual_seed(0), state=model.initial_state(n))
    out = []
    with torch.inference_mode():
        for _ in range(frames):
            sampler.draw_noise(torch.Generator(), 0.0)
            out.append(sampler.step_frame().clone())
    gen = torch.cat(out, dim=1)  # [n, frames * lookback]
    pad = torch.full((n, cfg.lookback), cfg.q_levels // 2)
    with torch.no_grad():
        logits, _ = model(torch.cat([pad, gen], dim=1), model.initial_state(n))
    agree = (logits.argmax(-1) == gen).float().mean().item()
    assert agree > 0.99, agree
    assert len(torch.unique(gen)) > 1


def test_generation_with_random_h0_depends_on_the_seed_only():
    cfg = SHAPES[0]
    torch.manual_seed(0)
    model = SampleRNN(cfg).eval()
    a = generate(model, n=2, seconds=0.05, seed=3)
    b = generate(model, n=2, seconds=0.05, seed=3)
    c = generate(model, n=2, seconds=0.05, seed=4)
    assert a.shape == (2, 800) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])  # streams of one batch differ


def test_initial_state_is_really_random_at_generation():
    """Greedy sampling removes the sampling noise: streams still differ, so h0 is random."""
    torch.manual_seed(0)
    model = SampleRNN(SHAPES[0]).eval()
    a = generate(model, n=2, seconds=0.05, seed=0, temperature=0.0)
    b = generate(model, n=2, seconds=0.05, seed=1, temperature=0.0)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a, b)
