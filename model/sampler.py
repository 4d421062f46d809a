"""Step-by-step autoregressive sampling from a trained SampleRNN, built for speed.

Generation is one sample at a time, so the cost is per-step overhead, not arithmetic. The sampler
therefore
- folds weight normalisation into plain weight tensors once (not at every step), held at the
  chosen precision (`model/sampler_weights.py`: fp32, exact; int8, a quarter of the bytes),
- replaces the MLP's embedding + convolution by its exact lookup table ([F*Q, D], one
  `embedding_bag` per step instead of a convolution),
- uses fused RNN cells (`torch.gru_cell` / `torch.lstm_cell`) and `addmm` with pre-transposed
  weights,
- samples with the Gumbel-max trick: argmax(logits + T * g), the noise g of a whole top-level
  frame given in one buffer, so a step is one add and one argmax,
- on CUDA, captures one top-level frame (all tiers, all its sample steps) as a CUDA graph and
  replays it, so a frame costs one launch instead of a few hundred; with `fused=True` the
  sample-level steps of a bottom frame are one Triton kernel (`model/fused_step.py`) inside it.

The unit of work is one top-tier frame of `n_top` samples (16 for the 2-tier model). The buffer
`hist` [R, 2 * n_top] holds the previous frame in its first half and receives the new frame in its
second half.

Batch invariance: every stream is one row, and no row's arithmetic depends on another's, so a
stream gives the same samples in a batch of any size (model/generate.py relies on it for "clip i
is the same whatever k"). One exception needs care: MKL runs a one-row product as a GEMV, which
sums in another order than the GEMM of two or more rows. An fp32 sampler of one stream therefore
runs R = 2 rows (the second is silent and thrown away): on the CPU that costs ~nothing at small
widths and ~10% at dim 1024. int8 products walk the rows one by one already, and need no pad.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from .sampler_weights import Cell, Dense, Precision, check_precision
from .samplernn import FrameTier, SampleRNN, State, frame_values

if TYPE_CHECKING:
    from .fused_step import FusedSampleStep


@dataclass
class _TierWeights:
    n: int  # samples per frame
    ratio: int
    expand: Dense  # n -> D
    cells: list[Cell]
    skip: Dense | None  # n_rnn * D -> D, when skip connected
    up: Dense  # D -> r * D


def _dense(layer: nn.Linear, precision: Precision) -> Dense:
    # `layer.weight` evaluates the weight-norm parametrisation once; keep the result.
    return Dense(layer.weight, layer.bias, precision)


def _tensor(module: nn.Module, name: str) -> torch.Tensor:
    value = getattr(module, name)
    assert isinstance(value, torch.Tensor)
    return value


def random_state(like: torch.Tensor, i: int, generator: torch.Generator) -> torch.Tensor:
    """A random initial value for element i of an RNN layer's state (the paper's random h0):
    tanh(N(0, 1)) for h, which keeps it where a GRU/LSTM output lives; plain N(0, 1) for c."""
    r = torch.randn(like.shape, generator=generator, device=like.device)
    return torch.tanh(r) if i == 0 else r


class Sampler:
    """Holds folded weights and the generation state for a batch of B streams (R >= B rows)."""

    def __init__(
        self,
        model: SampleRNN,
        batch: int,
        device: torch.device | str = "cpu",
        *,
        weights: Precision = "fp32",
        fused: bool = False,
    ) -> None:
        self.cfg = cfg = model.cfg
        self.device = torch.device(device)
        self.precision = check_precision(weights, self.device)
        self.batch = batch  # streams
        self.rows = rows = 2 if batch == 1 and self.precision == "fp32" else batch
        self.n_top = cfg.lookback
        self.f = cfg.frame_sizes[0]
        self.q = cfg.q_levels
        model = model.to(self.device).eval()
        with torch.no_grad():
            self.tiers = [self._tier_weights(t) for t in model.frame_tiers()]
            self.table = model.mlp.table().detach().contiguous()  # [F*Q, D]
            self.hidden = [_dense(cast(nn.Linear, h), self.precision) for h in model.mlp.hidden]
            self.output = _dense(model.mlp.output, self.precision)
        self.position_offsets = torch.arange(self.f, device=self.device) * self.q  # [F]
        d = cfg.dim
        n_state = 2 if cfg.cell == "lstm" else 1
        # Static buffers: updated in place so a CUDA graph can replay over them.
        self.state = [
            [[torch.zeros(rows, d, device=self.device) for _ in range(n_state)]
             for _ in range(cfg.n_rnn)]
            for _ in self.tiers
        ]
        self.hist = torch.full(
            (rows, 2 * self.n_top), self.q // 2, dtype=torch.long, device=self.device
        )
        self.noise = torch.zeros(rows, self.n_top, self.q, device=self.device)  # T * Gumbel
        self.frame_out = torch.empty(rows, self.n_top, dtype=torch.long, device=self.device)
        # Per-step views and scratch made once: at batch 1 a step costs a few microseconds per
        # op, and slicing, `arange` for embedding_bag's offsets and index_put were a fifth of it.
        n2 = 2 * self.n_top
        self._windows = [self.hist[:, p - self.f : p] for p in range(self.f, n2 + 1)]  # [R, F]
        self._columns = [self.hist[:, p] for p in range(n2)]  # [R]
        self._noise_t = [self.noise[:, t] for t in range(self.n_top)]  # [R, Q]
        self._idx = torch.empty(rows, self.f, dtype=torch.long, device=self.device)
        self._idx_flat = self._idx.view(-1)
        self._bag_offsets = torch.arange(0, rows * self.f, self.f, device=self.device)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._fused: FusedSampleStep | None = None
        if fused:
            from .fused_step import FusedSampleStep

            self._fused = FusedSampleStep(self)

    def _tier_weights(self, tier: FrameTier) -> _TierWeights:
        lstm = self.cfg.cell == "lstm"
        cells = [
            Cell(
                _tensor(rnn, "weight_ih_l0"), _tensor(rnn, "weight_hh_l0"),
                _tensor(rnn, "bias_ih_l0"), _tensor(rnn, "bias_hh_l0"),
                lstm=lstm, precision=self.precision,
            )
            for rnn in tier.rnns
        ]
        p = self.precision
        skip = _dense(tier.skip, p) if tier.skip is not None else None
        return _TierWeights(
            tier.frame_samples, tier.ratio, _dense(tier.expand, p), cells, skip,
            _dense(tier.upsample, p),
        )

    # -- state -------------------------------------------------------------------------------

    def reset(
        self,
        generator: torch.Generator | Sequence[torch.Generator],
        *,
        state: State | None = None,
        history: torch.Tensor | None = None,
    ) -> None:
        """Start new streams: a random initial RNN state (the paper's random h0) unless `state`
        [per tier, per layer, (h[, c]) of [B, D]] is given, and `history` [B, n_top] (levels)
        as the previous frame, else silence.

        `generator`: one per stream (stream b's state is drawn from generator b alone, so it is
        the same in any batch), or one for the whole batch.
        """
        if not isinstance(generator, torch.Generator) and len(generator) != self.batch:
            raise ValueError(f"{len(generator)} generators for {self.batch} streams")
        b = self.batch
        for s in (t for tier in self.state for layer in tier for t in layer):
            s.zero_()  # pad rows stay silent
        for k, tier_state in enumerate(self.state):
            for j, layer in enumerate(tier_state):
                for i, s in enumerate(layer):
                    if state is not None:
                        s[:b].copy_(state[k][j][i].expand(b, -1))
                    elif isinstance(generator, torch.Generator):
                        s[:b].copy_(random_state(s[:b], i, generator))
                    else:
                        for row, gen in enumerate(generator):
                            s[row].copy_(random_state(s[row], i, gen))
        self.hist.fill_(self.q // 2)
        if history is not None:
            self.hist[:b, : self.n_top].copy_(history)
        self.noise.zero_()

    def draw_noise(self, generator: torch.Generator, temperature: float) -> None:
        """Gumbel noise scaled by the temperature for the next top-level frame, for the whole
        batch from one generator (model/generate.py draws per stream and calls `set_noise`)."""
        if temperature == 0:
            self.noise.zero_()
            return
        u = torch.rand(
            (self.batch, self.n_top, self.q), generator=generator, device=self.device
        )
        self.noise[: self.batch].copy_(gumbel_(u, temperature))

    def set_noise(self, noise: torch.Tensor) -> None:
        """Noise [B, n_top, Q] (already scaled by the temperature) for the next frame."""
        self.noise[: self.batch].copy_(noise)

    # -- one top-level frame -------------------------------------------------------------------

    def step_frame(self) -> torch.Tensor:
        """Generate the next n_top samples of every stream; returns a view [B, n_top] of levels
        (valid until the next call)."""
        if self._graph is not None:
            self._graph.replay()
        else:
            self._frame()
        return self.frame_out[: self.batch]

    def _frame(self) -> None:
        self._run_tier(len(self.tiers) - 1, 0, None)
        # Produced frame -> output buffer, and it becomes the history of the next frame.
        self.frame_out.copy_(self.hist[:, self.n_top :])
        self.hist[:, : self.n_top].copy_(self.frame_out)

    def _run_tier(self, k: int, t0: int, cond: torch.Tensor | None) -> None:
        w = self.tiers[k]
        n_top = self.n_top
        frame = self.hist[:, n_top + t0 - w.n : n_top + t0]  # previous n samples, [R, n]
        x = w.expand(frame_values(frame, self.q))  # [R, D]
        if cond is not None:
            x = x + cond
        outs = []
        for cell, layer in zip(w.cells, self.state[k], strict=True):
            x = cell.step(x, layer)
            outs.append(x)
        if w.skip is not None:
            x = w.skip(torch.cat(outs, dim=1))
        up = w.up(x).view(self.rows, w.ratio, -1)  # [R, r, D]
        if k == 0:
            if self._fused is not None:
                self._fused.frame(t0, up)
            else:
                for j, cond in enumerate(up.unbind(1)):
                    self._sample(t0 + j, cond)
        else:
            below = self.tiers[k - 1].n
            for j in range(w.ratio):
                self._run_tier(k - 1, t0 + j * below, up[:, j])

    def _sample(self, t: int, cond: torch.Tensor) -> None:
        p = self.n_top + t  # position in hist of the sample to produce
        # table rows of the previous F samples, [R, F]: hist[:, p - F : p] + f * Q
        torch.add(self._windows[p - self.f], self.position_offsets, out=self._idx)
        x = torch.embedding_bag(self.table, self._idx_flat, self._bag_offsets, False, 0)[0]
        x = x.add_(cond).relu_()  # [R, D]
        for layer in self.hidden:
            x = layer(x).relu_()
        logits = self.output(x)  # [R, Q]
        torch.argmax(logits.add_(self._noise_t[t]), dim=1, out=self._columns[p])

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


def gumbel_(u: torch.Tensor, temperature: float) -> torch.Tensor:
    """Uniform noise u in [0, 1) -> temperature * Gumbel(0, 1), in place.

    Gumbel = -log(-log(U)); U = 0 gives -inf, a level that is never picked. (torch.rand + two logs
    is ~4x faster on CPU than Tensor.exponential_.)
    """
    return u.log_().neg_().log_().neg_().mul_(temperature)
