"""Step-by-step autoregressive sampling from a trained SampleRNN, built for speed.

Generation is one sample at a time, so the cost is per-step overhead, not arithmetic. The sampler
therefore
- folds weight normalisation into plain weight tensors once (not at every step),
- replaces the MLP's embedding + convolution by its exact lookup table ([F*Q, D], one
  `embedding_bag` per step instead of a convolution),
- uses fused RNN cells (`torch.gru_cell` / `torch.lstm_cell`) and `addmm` with pre-transposed
  weights,
- samples with the Gumbel-max trick: argmax(logits + T * g) with the noise g for a whole top-level
  frame drawn in one call, so a step is one add and one argmax,
- on CUDA, captures one top-level frame (all tiers, all its sample steps) as a CUDA graph and
  replays it, so a frame costs one launch instead of a few hundred.

The unit of work is one top-tier frame of `n_top` samples (16 for the 2-tier model). The buffer
`hist` [B, 2 * n_top] holds the previous frame in its first half and receives the new frame in its
second half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F_
from torch import nn

from .samplernn import FrameTier, SampleRNN, State, frame_values

# Weights of one fused RNN cell: w_ih, w_hh, b_ih, b_hh.
CellWeights = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class _TierWeights:
    n: int  # samples per frame
    ratio: int
    expand_w: torch.Tensor  # [n, D] (transposed for addmm)
    expand_b: torch.Tensor  # [D]
    cells: list[CellWeights]
    skip: tuple[torch.Tensor, torch.Tensor] | None  # [n_rnn * D, D] and [D], when skip connected
    up_w: torch.Tensor  # [D, r * D]
    up_b: torch.Tensor  # [r * D]


def _linear_weights(layer: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    # `layer.weight` evaluates the weight-norm parametrisation once; keep the result.
    return layer.weight.detach().t().contiguous(), layer.bias.detach().clone()


def random_state(like: torch.Tensor, i: int, generator: torch.Generator) -> torch.Tensor:
    """A random initial value for element i of an RNN layer's state (the paper's random h0):
    tanh(N(0, 1)) for h, which keeps it where a GRU/LSTM output lives; plain N(0, 1) for c."""
    r = torch.randn(like.shape, generator=generator, device=like.device)
    return torch.tanh(r) if i == 0 else r


class Sampler:
    """Holds folded weights and the generation state for a batch of B streams."""

    def __init__(self, model: SampleRNN, batch: int, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg = model.cfg
        self.device = torch.device(device)
        self.batch = batch
        self.n_top = cfg.lookback
        self.f = cfg.frame_sizes[0]
        self.q = cfg.q_levels
        model = model.to(self.device).eval()
        with torch.no_grad():
            self.tiers = [self._tier_weights(t) for t in model.frame_tiers()]
            self.table = model.mlp.table().detach().contiguous()  # [F*Q, D]
            self.hidden = [_linear_weights(cast(nn.Linear, h)) for h in model.mlp.hidden]
            self.out_w, self.out_b = _linear_weights(model.mlp.output)
        self.position_offsets = torch.arange(self.f, device=self.device) * self.q  # [F]
        b, d = batch, cfg.dim
        n_state = 2 if cfg.cell == "lstm" else 1
        # Static buffers: updated in place so a CUDA graph can replay over them.
        self.state = [
            [
                [torch.zeros(b, d, device=self.device) for _ in range(n_state)]
                for _ in range(cfg.n_rnn)
            ]
            for _ in self.tiers
        ]
        self.hist = torch.full(
            (b, 2 * self.n_top), self.q // 2, dtype=torch.long, device=self.device
        )
        self.noise = torch.zeros(self.n_top, b, self.q, device=self.device)  # T * Gumbel
        self.frame_out = torch.empty(b, self.n_top, dtype=torch.long, device=self.device)
        self._graph: torch.cuda.CUDAGraph | None = None

    def _tier_weights(self, tier: FrameTier) -> _TierWeights:
        cells: list[CellWeights] = []
        for rnn in tier.rnns:
            w_ih, w_hh, b_ih, b_hh = (
                getattr(rnn, name).detach().contiguous()
                for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            )
            cells.append((w_ih, w_hh, b_ih, b_hh))
        ew, eb = _linear_weights(tier.expand)
        uw, ub = _linear_weights(tier.upsample)
        skip = _linear_weights(tier.skip) if tier.skip is not None else None
        return _TierWeights(tier.frame_samples, tier.ratio, ew, eb, cells, skip, uw, ub)

    # -- state -------------------------------------------------------------------------------

    def reset(
        self,
        generator: torch.Generator,
        *,
        state: State | None = None,
        history: torch.Tensor | None = None,
    ) -> None:
        """Start new streams: a random initial RNN state (the paper's random h0) unless `state`
        is given, and `history` [B, n_top] (levels) as the previous frame, else silence."""
        for k, tier_state in enumerate(self.state):
            for j, layer in enumerate(tier_state):
                for i, s in enumerate(layer):
                    if state is not None:
                        s.copy_(state[k][j][i].expand_as(s))
                    else:
                        s.copy_(random_state(s, i, generator))
        self.hist.fill_(self.q // 2)
        if history is not None:
            self.hist[:, : self.n_top].copy_(history)

    def draw_noise(self, generator: torch.Generator, temperature: float) -> None:
        """Gumbel noise scaled by the temperature for the next top-level frame."""
        if temperature == 0:
            self.noise.zero_()
            return
        # Gumbel(0, 1) = -log(-log(U)); U = 0 gives -inf, a level that is never picked.
        # (torch.rand + two logs is ~4x faster on CPU than Tensor.exponential_.)
        u = torch.rand(self.noise.shape, generator=generator, device=self.device)
        self.noise.copy_(u.log_().neg_().log_().neg_().mul_(temperature))

    # -- one top-level frame -------------------------------------------------------------------

    def step_frame(self) -> torch.Tensor:
        """Generate the next n_top samples of every stream; returns a view [B, n_top] of levels
        (valid until the next call)."""
        if self._graph is not None:
            self._graph.replay()
        else:
            self._frame()
        return self.frame_out

    def _frame(self) -> None:
        self._run_tier(len(self.tiers) - 1, 0, None)
        # Produced frame -> output buffer, and it becomes the history of the next frame.
        self.frame_out.copy_(self.hist[:, self.n_top :])
        self.hist[:, : self.n_top].copy_(self.frame_out)

    def _run_tier(self, k: int, t0: int, cond: torch.Tensor | None) -> None:
        w = self.tiers[k]
        n_top = self.n_top
        frame = self.hist[:, n_top + t0 - w.n : n_top + t0]  # previous n samples, [B, n]
        x = torch.addmm(w.expand_b, frame_values(frame, self.q), w.expand_w)  # [B, D]
        if cond is not None:
            x = x + cond
        outs = []
        for (w_ih, w_hh, b_ih, b_hh), layer in zip(w.cells, self.state[k], strict=True):
            if len(layer) == 2:
                h, c = torch.lstm_cell(x, (layer[0], layer[1]), w_ih, w_hh, b_ih, b_hh)
                layer[1].copy_(c)
            else:
                h = torch.gru_cell(x, layer[0], w_ih, w_hh, b_ih, b_hh)
            layer[0].copy_(h)
            outs.append(h)
            x = h
        if w.skip is not None:
            skip_w, skip_b = w.skip
            x = torch.addmm(skip_b, torch.cat(outs, dim=1), skip_w)
        up = torch.addmm(w.up_b, x, w.up_w).view(self.batch, w.ratio, -1)  # [B, r, D]
        if k == 0:
            for j in range(w.ratio):
                self._sample(t0 + j, up[:, j])
        else:
            below = self.tiers[k - 1].n
            for j in range(w.ratio):
                self._run_tier(k - 1, t0 + j * below, up[:, j])

    def _sample(self, t: int, cond: torch.Tensor) -> None:
        p = self.n_top + t  # position in hist of the sample to produce
        idx = self.hist[:, p - self.f : p] + self.position_offsets  # [B, F] table rows
        x = F_.embedding_bag(idx, self.table, mode="sum").add_(cond).relu_()  # [B, D]
        for w, b in self.hidden:
            x = torch.addmm(b, x, w).relu_()
        logits = torch.addmm(self.out_b, x, self.out_w)  # [B, Q]
        self.hist[:, p] = logits.add_(self.noise[t]).argmax(dim=1)

    # -- CUDA graphs ---------------------------------------------------------------------------

    def capture(self) -> None:
        """Record one frame as a CUDA graph (CUDA only). Buffers are saved and restored, so
        capturing does not advance the streams."""
        if self.device.type != "cuda":
            return
        saved = self._snapshot()
        side = torch.cuda.Stream(self.device)  # type: ignore[no-untyped-call]  # untyped in torch
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):  # warm up kernels and the allocator outside the graph
                self._frame()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._frame()
        self._restore(saved)
        self._graph = graph

    def _buffers(self) -> list[torch.Tensor]:
        flat = [s for tier in self.state for layer in tier for s in layer]
        return flat + [self.hist, self.noise]

    def _snapshot(self) -> list[torch.Tensor]:
        return [b.clone() for b in self._buffers()]

    def _restore(self, saved: list[torch.Tensor]) -> None:
        for b, s in zip(self._buffers(), saved, strict=True):
            b.copy_(s)
