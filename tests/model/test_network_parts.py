"""The paper's network has weight normalization and skip connections, really in the graph:
every weight layer is parametrized as g * v / ||v||, every RNN layer of a tier feeds its output
through the skip projection, and taking either away changes what the network computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from model.config import SampleRNNConfig
from model.samplernn import SampleRNN

CFG = SampleRNNConfig(frame_sizes=(16, 4), dim=24, n_rnn=3, cell="lstm", embed_size=8,
                      mlp_layers=1)
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d)


def _net(cfg: SampleRNNConfig = CFG) -> SampleRNN:
    torch.manual_seed(0)
    return SampleRNN(cfg).eval()


def _logits(net: SampleRNN, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, net.cfg.q_levels, (2, net.lookback + 4 * net.lookback), generator=g)
    with torch.no_grad():
        return net(x, net.initial_state(2))[0]


def _weight_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in net.named_modules() if isinstance(m, WEIGHT_LAYERS)]


def test_every_weight_layer_is_weight_normalized() -> None:
    net = _net()
    layers = _weight_layers(net)
    # per frame tier: expand, skip, upsample; MLP: input conv, 1 hidden, output
    assert len(layers) == 2 * 3 + 3
    for name, module in layers:
        assert parametrize.is_parametrized(module, "weight"), name
        g = module.parametrizations.weight.original0  # type: ignore[union-attr]
        v = module.parametrizations.weight.original1  # type: ignore[union-attr]
        dims = tuple(range(1, v.dim()))
        expected = g * v / v.norm(dim=dims, keepdim=True)
        torch.testing.assert_close(module.weight, expected, msg=name)
    keys = net.state_dict().keys()
    assert sum(k.endswith("parametrizations.weight.original0") for k in keys) == len(layers)


def test_without_weight_norm_the_same_directions_compute_something_else() -> None:
    net = _net()
    for _, module in _weight_layers(net):  # a trained network's scales are not the norms of v
        with torch.no_grad():
            module.parametrizations.weight.original0.mul_(1.7)  # type: ignore[union-attr]
    with_wn = _logits(net)
    for _, module in _weight_layers(net):  # the network without g: v used as the weight
        v = module.parametrizations.weight.original1.detach().clone()  # type: ignore[union-attr]
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        with torch.no_grad():
            module.weight.copy_(v)
    assert not torch.allclose(with_wn, _logits(net), atol=1e-4)


def test_a_config_without_weight_norm_builds_plain_layers() -> None:
    net = _net(SampleRNNConfig(**{**CFG.to_dict(), "frame_sizes": (16, 4), "weight_norm": False}))
    assert not any(parametrize.is_parametrized(m, "weight") for _, m in _weight_layers(net))


def test_every_rnn_layer_feeds_the_skip_projection() -> None:
    net = _net()
    for tier in net.frame_tiers():
        assert tier.skip is not None
        assert tier.skip.in_features == CFG.n_rnn * CFG.dim and tier.skip.out_features == CFG.dim


@pytest.mark.parametrize("layer", [0, 1])
def test_the_output_depends_directly_on_each_lower_rnn_layer(layer: int) -> None:
    """Zero the skip projection's columns of one layer below the top: the output changes, so
    that layer reaches the output directly, not only through the layers above it."""
    net = _net()
    before = _logits(net)
    d = CFG.dim
    with torch.no_grad():
        for tier in net.frame_tiers():
            assert tier.skip is not None
            v = tier.skip.parametrizations.weight.original1  # [D, n_rnn * D]
            v[:, layer * d : (layer + 1) * d] = 0.0
    assert not torch.allclose(before, _logits(net), atol=1e-4)


def test_removing_the_skip_connections_changes_the_output() -> None:
    net = _net()
    before = _logits(net)
    for tier in net.frame_tiers():
        tier.skip = None  # the tier's output is then its top RNN layer alone
    after = _logits(net)
    assert after.shape == before.shape and not torch.allclose(before, after, atol=1e-4)
    plain = _net(SampleRNNConfig(**{**CFG.to_dict(), "frame_sizes": (16, 4),
                                    "skip_connections": False}))
    assert all(t.skip is None for t in plain.frame_tiers())
