"""The SampleRNN network (Mehri et al. 2017) in the shape the Dadabots paper trained.

A stack of frame-level RNN tiers, each stepping once per frame of samples and conditioning the tier
below, above a sample-level MLP that predicts one quantized sample from the previous `F` samples
plus the conditioning vector of its frame. This module is the training graph (whole sequences at
once); `model/sampler.py` runs the same weights step by step for generation.

Shapes: B batch, L predicted samples per segment, D `dim`, Q `q_levels`, E `embed_size`,
F `frame_sizes[0]` (bottom frame size), n samples per frame of a tier, r that tier's upsampling
ratio.
"""

from __future__ import annotations

from typing import TypeVar, cast

import torch
import torch.nn.functional as F_
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .config import SampleRNNConfig

# State of one RNN layer: (h,) for a GRU, (h, c) for an LSTM; each [B, D].
LayerState = tuple[torch.Tensor, ...]
TierState = list[LayerState]
State = list[TierState]  # one per frame-level tier, bottom-up

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def _maybe_wn(module: ModuleT, enabled: bool) -> ModuleT:
    # weight_norm registers a parametrization on `module` itself and returns that same module.
    return cast(ModuleT, weight_norm(module)) if enabled else module


def frame_values(q: torch.Tensor, q_levels: int) -> torch.Tensor:
    """Quantized levels -> real-valued RNN inputs in [-2, 2) (the scaling of the original code)."""
    return q.float() * (4.0 / q_levels) - 2.0


class FrameTier(nn.Module):
    """One frame-level tier: frames of n samples -> RNN -> r conditioning vectors per frame."""

    h0: torch.Tensor  # [n_rnn, n_state, D]: a parameter with `learn_h0`, else a buffer

    def __init__(self, cfg: SampleRNNConfig, index: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.frame_samples = cfg.tier_frame_samples[index]  # n
        self.ratio = cfg.frame_sizes[index]  # r: steps of the tier below per step of this one
        d = cfg.dim
        self.expand = _maybe_wn(nn.Linear(self.frame_samples, d), cfg.weight_norm)
        rnn_cls = nn.GRU if cfg.cell == "gru" else nn.LSTM
        # Separate single-layer RNNs so every layer's output can feed the skip projection.
        self.rnns = nn.ModuleList(rnn_cls(d, d, batch_first=True) for _ in range(cfg.n_rnn))
        self.skip = (
            _maybe_wn(nn.Linear(cfg.n_rnn * d, d), cfg.weight_norm)
            if cfg.skip_connections and cfg.n_rnn > 1
            else None
        )
        self.upsample = _maybe_wn(nn.Linear(d, self.ratio * d), cfg.weight_norm)
        n_state = 2 if cfg.cell == "lstm" else 1
        h0 = torch.zeros(cfg.n_rnn, n_state, d)
        if cfg.learn_h0:
            self.h0 = nn.Parameter(h0)
        else:
            self.register_buffer("h0", h0)

    def initial_state(self, batch: int) -> TierState:
        # h0: [n_rnn, n_state, D] -> per layer a tuple of [B, D]
        return [tuple(s.expand(batch, -1) for s in layer) for layer in self.h0]

    def forward(
        self, frames: torch.Tensor, cond: torch.Tensor | None, state: TierState
    ) -> tuple[torch.Tensor, TierState]:
        """frames [B, T, n] real-valued, cond [B, T, D] from the tier above or None.

        Returns the conditioning for the tier below, [B, T * r, D], and the new state.
        """
        x = self.expand(frames)  # [B, T, D]
        if cond is not None:
            x = x + cond
        outs = []
        new_state: TierState = []
        for rnn, layer_state in zip(self.rnns, state, strict=True):
            hx: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
            if self.cfg.cell == "lstm":
                hx = (
                    layer_state[0].unsqueeze(0).contiguous(),
                    layer_state[1].unsqueeze(0).contiguous(),
                )
                x, (h, c) = rnn(x, hx)
                new_state.append((h[0], c[0]))
            else:
                x, h = rnn(x, layer_state[0].unsqueeze(0).contiguous())
                new_state.append((h[0],))
            outs.append(x)
        out = self.skip(torch.cat(outs, dim=-1)) if self.skip is not None else x  # [B, T, D]
        b, t, d = out.shape
        up = self.upsample(out).view(b, t * self.ratio, d)  # [B, T*r, D]
        return up, new_state


class SampleMLP(nn.Module):
    """Predicts sample t from samples t-F..t-1 and the frame conditioning.

    The input layer is an embedding (Q -> E) followed by a width-F convolution (F*E -> D). Both
    are linear, so together they are an exact lookup table T[f, q] = W[:, :, f] @ emb[q] of shape
    [F, Q, D]; the input layer is a sum of F table rows. Training and generation both use the
    table: it is cheaper than the convolution whenever E*D > Q (always, at useful sizes).
    """

    position_offsets: torch.Tensor  # [F]: f * Q, the first table row of window position f

    def __init__(self, cfg: SampleRNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        f, q, e, d = cfg.frame_sizes[0], cfg.q_levels, cfg.embed_size, cfg.dim
        self.embedding = nn.Embedding(q, e)
        self.input = _maybe_wn(nn.Conv1d(e, d, kernel_size=f, bias=False), cfg.weight_norm)
        self.hidden = nn.ModuleList(
            _maybe_wn(nn.Linear(d, d), cfg.weight_norm) for _ in range(cfg.mlp_layers)
        )
        self.output = _maybe_wn(nn.Linear(d, q), cfg.weight_norm)
        self.register_buffer("position_offsets", torch.arange(f) * q, persistent=False)

    def table(self) -> torch.Tensor:
        """The input layer as a lookup table, [F * Q, D]; row f * Q + q is T[f, q]."""
        w = self.input.weight  # [D, E, F]
        t = torch.einsum("def,qe->fqd", w, self.embedding.weight)  # [F, Q, D]
        return t.reshape(-1, t.shape[-1])

    def forward(self, prev: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """prev [B, L + F - 1] levels, cond [B, L, D] -> logits [B, L, Q]."""
        f = self.cfg.frame_sizes[0]
        b, length, d = cond.shape
        windows = prev.unfold(1, f, 1) + self.position_offsets  # [B, L, F] rows of the table
        x = F_.embedding_bag(windows.reshape(-1, f), self.table(), mode="sum")  # [B*L, D]
        x = torch.relu(x.view(b, length, d) + cond)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        logits: torch.Tensor = self.output(x)
        return logits


class SampleRNN(nn.Module):
    """Frame tiers (bottom-up in `tiers`) plus the sample-level MLP."""

    def __init__(self, cfg: SampleRNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tiers = nn.ModuleList(FrameTier(cfg, i) for i in range(len(cfg.frame_sizes)))
        self.mlp = SampleMLP(cfg)

    @property
    def lookback(self) -> int:
        return self.cfg.lookback

    def frame_tiers(self) -> list[FrameTier]:
        """`tiers` as FrameTiers, bottom-up (to a type checker an nn.ModuleList holds Modules)."""
        return [cast(FrameTier, tier) for tier in self.tiers]

    def initial_state(self, batch: int) -> State:
        return [tier.initial_state(batch) for tier in self.frame_tiers()]

    def frame_conditioning(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Run the frame tiers over x [B, lookback + L]; returns cond [B, L, D] and the new state.

        Tier k's step t sees the n_k samples just before the samples it conditions, so the last
        frame of x is not consumed: the generator feeds it at its next step.
        """
        lookback = self.lookback
        length = x.shape[1] - lookback
        cond = None
        tiers = self.frame_tiers()
        new_state: State = [[] for _ in tiers]
        for k in reversed(range(len(tiers))):
            tier = tiers[k]
            n = tier.frame_samples
            if length % n:
                raise ValueError(f"segment length {length} is not a multiple of the frame size {n}")
            frames = x[:, lookback - n : lookback - n + length]  # [B, L]
            frames = frame_values(frames, self.cfg.q_levels).view(x.shape[0], length // n, n)
            cond, new_state[k] = tier(frames, cond, state[k])
        assert cond is not None and cond.shape[1] == length
        return cond, new_state

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x [B, lookback + L] quantized levels -> logits [B, L, Q] for x[:, lookback:]."""
        cond, new_state = self.frame_conditioning(x, state)
        f = self.cfg.frame_sizes[0]
        prev = x[:, self.lookback - f : -1]  # [B, L + F - 1]
        return self.mlp(prev, cond), new_state


def detach_state(state: State) -> State:
    return [[tuple(s.detach() for s in layer) for layer in tier] for tier in state]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
