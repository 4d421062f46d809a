"""The fast sampler's weights at a chosen precision, and its RNN cells over them.

Generating at batch 1 on a CPU is memory-bound: every frame streams the whole frame-level RNN
(5 x 1024 GRU layers, the skip and upsampling projections: ~53 M parameters, 214 MB in fp32) from
RAM, and every sample reads the MLP's ~2.3 M. `Precision` picks how those weights are held:

- `fp32` (default): the trained weights as they are, run with `addmm` and the fused
  `gru_cell` / `lstm_cell`. It computes exactly what the training graph computes, and is the
  path every exactness test uses (teacher forcing, batch invariance, CUDA graph equals eager).
- `int8`: each weight matrix quantized per output row (symmetric, scale = max |w| / 127) and run
  by fbgemm's dynamically quantized linear (`torch.ops.quantized.linear_dynamic`: the input row
  quantized to 8 bits on the fly, int8 products with AVX-512 VNNI, fp32 out); gates, biases and
  states stay fp32. A quarter of the bytes of fp32 and several times its speed at batch 1;
  logits differ from fp32 by the tolerance tests/model/test_sampler_precision.py states. fbgemm
  quantizes a whole input tensor with one scale, so rows are fed one at a time (a stream's
  samples must not depend on its batch): meant for batch 1 on a CPU. Where this torch has no
  fbgemm (or drops its deprecated quantized tensors), `torch._weight_int8pack_mm` (bf16
  activations, slower) does the products instead.

Shapes: B rows, K inputs, N outputs, D state width.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import torch

Precision = Literal["fp32", "int8"]
SMALL_INPUT = 64  # int8 layers with at most this many inputs stay fp32
PRECISIONS: tuple[Precision, ...] = ("fp32", "int8")


def check_precision(precision: str, device: torch.device) -> Precision:
    if precision not in PRECISIONS:
        raise ValueError(f"weights must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "int8" and device.type != "cpu":
        raise ValueError(f"int8 weights run on the CPU only, not on {device}")
    return "int8" if precision == "int8" else "fp32"


class Dense:
    """y [B, N] = x [B, K] @ W^T + b, float32 in and out, W held at `precision`."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, precision: Precision):
        weight = weight.detach().float().contiguous()  # [N, K]
        self.precision = precision
        self.bias = None if bias is None else bias.detach().float().clone()
        self.wt = torch.empty(0)
        self.packed: Any = None
        if weight.shape[1] <= SMALL_INPUT:  # a few kB (a tier's input layer): not worth it
            precision = self.precision = "fp32"
        if precision == "int8":
            scale = weight.abs().amax(dim=1).clamp_min(1e-12) / 127.0  # [N]
            self.packed = _fbgemm_pack(weight, scale, self.bias)
            if self.packed is None:
                self.q = torch.round(weight / scale[:, None]).to(torch.int8).contiguous()
                self.scale = scale.to(torch.bfloat16)
        else:
            self.wt = weight.t().contiguous()  # [K, N]: addmm's fast layout

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.precision == "int8":
            if self.packed is not None:
                if x.shape[0] == 1:
                    return _linear_dynamic(x, self.packed)
                return torch.cat([_linear_dynamic(row[None], self.packed) for row in x])
            y = torch._weight_int8pack_mm(x.to(torch.bfloat16), self.q, self.scale)  # bf16
            # fp32 + bf16 promotes to fp32 in the same op
            return y.float() if self.bias is None else torch.add(self.bias, y)
        if self.bias is None:
            return torch.mm(x, self.wt)
        return torch.addmm(self.bias, x, self.wt)


def _fbgemm_pack(weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> Any:
    """fbgemm's packed int8 weight (per-row scales) with its fp32 bias, or None without fbgemm."""
    if "fbgemm" not in torch.backends.quantized.supported_engines:
        return None
    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates quantized tensors (pytorch#184982); the fallback stays.
            warnings.simplefilter("ignore", UserWarning)
            zero = torch.zeros(weight.shape[0], dtype=torch.long)
            qweight = torch.quantize_per_channel(weight, scale.double(), zero, 0, torch.qint8)
            return torch.ops.quantized.linear_prepack(qweight, bias)
    except (RuntimeError, AttributeError):
        return None


def _linear_dynamic(x: torch.Tensor, packed: Any) -> torch.Tensor:
    y: torch.Tensor = torch.ops.quantized.linear_dynamic(x, packed)
    return y


class Cell:
    """One GRU or LSTM layer stepping once: (x [B, K], state) -> new state, in place.

    `state` is a list of [B, D] tensors ((h,) or (h, c)) that are overwritten, so a CUDA graph
    can replay over them. fp32 uses torch's fused cells; int8 computes the same gate equations
    (PyTorch's GRU/LSTM definitions) over `Dense` products.
    """

    def __init__(
        self,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b_ih: torch.Tensor,
        b_hh: torch.Tensor,
        lstm: bool,
        precision: Precision,
    ) -> None:
        self.lstm, self.precision = lstm, precision
        self.fused = tuple(t.detach().contiguous() for t in (w_ih, w_hh, b_ih, b_hh))
        if precision != "fp32":
            self.ih = Dense(w_ih, b_ih, precision)  # [B, 3D] (GRU: r, z, n) or [B, 4D] (i, f, g, o)
            self.hh = Dense(w_hh, b_hh, precision)

    def step(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        """Advance `state` by one step on input x; returns the new h (a view of state[0])."""
        w_ih, w_hh, b_ih, b_hh = self.fused
        if self.lstm:
            if self.precision == "fp32":
                h, c = torch.lstm_cell(x, (state[0], state[1]), w_ih, w_hh, b_ih, b_hh)
            else:
                i, f, g, o = (self.ih(x) + self.hh(state[0])).chunk(4, dim=1)
                c = torch.sigmoid(f).mul_(state[1]).addcmul_(torch.sigmoid(i), torch.tanh(g))
                h = torch.sigmoid(o).mul_(torch.tanh(c))
            state[1].copy_(c)
        elif self.precision == "fp32":
            h = torch.gru_cell(x, state[0], w_ih, w_hh, b_ih, b_hh)
        else:
            gi, gh = self.ih(x), self.hh(state[0])  # [B, 3D]: r, z, n
            d = gi.shape[1] // 3
            r, z = torch.sigmoid(gi[:, : 2 * d] + gh[:, : 2 * d]).chunk(2, dim=1)
            n = torch.tanh(torch.addcmul(gi[:, 2 * d :], r, gh[:, 2 * d :]))
            h = torch.lerp(n, state[0], z)  # (1 - z) * n + z * h
        state[0].copy_(h)
        return state[0]
