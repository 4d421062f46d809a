import numpy as np
import pytest
import torch

from model.quantize import dequantize, quantize, zero_level


@pytest.mark.parametrize("kind", ["linear", "mulaw"])
@pytest.mark.parametrize("q_levels", [256, 1024, 2])
def test_every_level_round_trips_exactly(kind, q_levels):
    levels = np.arange(q_levels)
    assert np.array_equal(quantize(dequantize(levels, q_levels, kind), q_levels, kind), levels)
    t = torch.arange(q_levels)
    assert torch.equal(quantize(dequantize(t, q_levels, kind), q_levels, kind), t)


@pytest.mark.parametrize("kind", ["linear", "mulaw"])
def test_numpy_and_torch_agree(kind):
    x = np.random.default_rng(0).uniform(-1.2, 1.2, 10_000).astype(np.float32)
    qn = quantize(x, 256, kind)
    qt = quantize(torch.from_numpy(x), 256, kind)
    assert np.array_equal(qn, qt.numpy())
    assert qn.min() >= 0 and qn.max() <= 255


def test_linear_error_is_within_half_a_level():
    x = np.linspace(-1, 1, 100_001, dtype=np.float32)
    err = np.abs(dequantize(quantize(x, 256), 256) - x)
    assert err.max() <= 1.0 / 256 + 1e-6


def test_mulaw_is_finer_near_zero_than_linear():
    x = np.linspace(-0.01, 0.01, 10_001, dtype=np.float32)
    lin = np.abs(dequantize(quantize(x, 256, "linear"), 256, "linear") - x).mean()
    mu = np.abs(dequantize(quantize(x, 256, "mulaw"), 256, "mulaw") - x).mean()
    assert mu < lin / 4


def test_silence_maps_to_the_zero_level():
    assert quantize(np.zeros(1, np.float32), 256)[0] == zero_level(256)
    assert quantize(np.zeros(1, np.float32), 256, "mulaw")[0] == zero_level(256)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="alaw"):
        quantize(np.zeros(1), 256, "alaw")
