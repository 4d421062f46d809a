"""The int8 sampler against the exact fp32 one, teacher-forced on the same audio.

Both samplers are fed the very same sequence (the fp32 sampler's own greedy output): noise that
is +1e9 at the teacher's level forces every argmax onto it, and the logits are recorded on the way.
Stated tolerance for int8 weights (model/sampler_weights.py), over 20 frames (320 samples):
- every logit within 4% of the largest |logit| of its step from the fp32 logit,
- the distributions close: mean KL(fp32 || int8) below 0.001 bits per sample,
- the greedy choice (argmax of the logits) the same at >= 95% of the steps.
"""

import numpy as np
import pytest
import torch

from model.config import SampleRNNConfig
from model.generate import generate
from model.sampler import Sampler
from model.samplernn import SampleRNN

SHAPES = [
    SampleRNNConfig(dim=256, n_rnn=2, cell="gru", embed_size=64, mlp_layers=2),
    SampleRNNConfig(dim=128, n_rnn=2, cell="lstm", embed_size=32, mlp_layers=1),
    SampleRNNConfig(frame_sizes=(4, 4), dim=96, n_rnn=1, cell="gru", embed_size=16),
]
FRAMES = 20


class Recording:
    """Wraps the sampler's output layer and keeps every logits tensor it returns."""

    def __init__(self, dense):
        self.dense, self.seen = dense, []

    def __call__(self, x):
        y = self.dense(x)
        self.seen.append(y[:1].clone())
        return y


def teacher_forced_logits(model, weights, sequence):
    """Logits [T, Q] of stream 0 at each step of `sequence` [T] (levels), from h0 = the model's
    learned one."""
    cfg = model.cfg
    sampler = Sampler(model, 1, weights=weights)
    sampler.reset(torch.Generator(), state=model.initial_state(1))
    sampler.output = Recording(sampler.output)
    with torch.inference_mode():
        for f in range(len(sequence) // cfg.lookback):
            noise = torch.zeros(1, cfg.lookback, cfg.q_levels)
            frame = sequence[f * cfg.lookback : (f + 1) * cfg.lookback]
            noise[0, torch.arange(cfg.lookback), frame] = 1e9
            sampler.set_noise(noise)
            assert torch.equal(sampler.step_frame()[0], frame)
    return torch.cat(sampler.output.seen)


@pytest.mark.parametrize("cfg", SHAPES, ids=lambda c: f"{c.cell}-{c.dim}-{c.frame_sizes}")
def test_int8_logits_stay_within_the_stated_tolerance_of_fp32(cfg):
    torch.manual_seed(3)
    model = SampleRNN(cfg).eval()
    with torch.no_grad():  # give the network trained-like contrast: sharper logits, a real h0
        model.mlp.output.parametrizations.weight.original0.mul_(8.0)
        for tier in model.tiers:
            tier.h0.normal_(0, 0.5)
    sampler = Sampler(model, 1)
    sampler.reset(torch.Generator(), state=model.initial_state(1))
    with torch.inference_mode():
        seq = torch.cat([sampler.step_frame()[0].clone() for _ in range(FRAMES)])
    exact = teacher_forced_logits(model, "fp32", seq)
    approx = teacher_forced_logits(model, "int8", seq)
    assert exact.shape == approx.shape == (FRAMES * cfg.lookback, cfg.q_levels)
    scale = exact.abs().amax(dim=1, keepdim=True)
    rel = ((approx - exact).abs() / scale).max().item()
    p, logq = exact.log_softmax(1).exp(), approx.log_softmax(1)
    kl_bits = (p * (exact.log_softmax(1) - logq)).sum(1).mean().item() / np.log(2)
    same_argmax = (exact.argmax(1) == approx.argmax(1)).float().mean().item()
    print(f"{cfg.cell} dim {cfg.dim}: max rel {rel:.4f}, KL {kl_bits:.5f} bits, "
          f"argmax agreement {same_argmax:.3f}, logit scale {scale.mean().item():.2f}")
    assert rel < 0.04
    assert kl_bits < 0.001
    assert same_argmax >= 0.95


def test_int8_generation_is_reproducible_and_batch_invariant():
    cfg = SHAPES[0]
    torch.manual_seed(0)
    model = SampleRNN(cfg).eval()
    one = generate(model, seeds=[5], seconds=0.1, weights="int8")
    three = generate(model, seeds=[7, 5, 9], seconds=0.1, weights="int8")
    assert np.array_equal(one[0], three[1])
    assert np.array_equal(one, generate(model, seeds=[5], seconds=0.1, weights="int8"))


def test_int8_is_refused_off_the_cpu_and_unknown_precisions_by_name():
    model = SampleRNN(SHAPES[2])
    with pytest.raises(ValueError, match="bf17"):
        Sampler(model, 1, weights="bf17")
    with pytest.raises(ValueError, match="CPU only"):
        Sampler(model, 1, "meta", weights="int8")
