"""The sample-level steps of a frame as one Triton kernel (CUDA; Triton's interpreter on CPU).

`Sampler(..., fused=True)` hands the F sample steps of every bottom-tier frame to
`FusedSampleStep.frame`, which launches `model/fused_kernel.py`'s `frame_kernel` once instead of
~10 small kernels per sample: embedding-table lookup, MLP, noise and argmax of all samples of
the frame, the activations kept in a few KB of scratch that stays in L2. The frame-level RNN
stays on cuDNN/cuBLAS (`torch.lstm_cell`/`gru_cell`, `addmm`), and the CUDA graph of a frame
captures both: one graph launch per top-level frame.

Exactness: the kernel computes the eager sampler's model with fp32 products in full IEEE
precision (`input_precision="ieee"`, no TF32 unless asked), but it sums in its own order, so its
logits differ from the eager ones by float rounding: tests/model/test_fused_step.py holds them
within 1e-4 of each other and the samples identical over whole frames at temperature 1 (a flip
would need two perturbed logits within ~1e-5 of each other). Not bit-exact with the eager path,
then; exactly reproducible with itself for a given batch size and NUM_PROGRAMS.

Batch invariance: tile rows never mix, so a stream's samples do not depend on the other streams
(model/generate.py's "clip i is the same whatever k").

Requires fp32 sampler weights. Where Triton is missing, `available()` says why.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal

import torch

try:
    import triton
except ImportError:  # the CPU wheel of torch brings no Triton; the dev extras install it
    triton = None

if TYPE_CHECKING:
    from .sampler import Sampler

BLOCK_B = 16  # streams per tile (tl.dot needs >= 16)
BLOCK_K = 32  # reduction step
# output features per tile: narrow tiles for few streams, so more programs share each layer
# (dim 1024 at batch 1: 64 programs), wider ones when there are many tiles anyway


def block_n(rows: int) -> int:
    return 16 if rows <= BLOCK_B else 32
Precision = Literal["ieee", "tf32"]


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (TRITON_INTERPRET=1, read by
    Triton itself when it starts)."""
    knobs: Any = getattr(triton, "knobs", None)
    return bool(knobs is not None and knobs.runtime.interpret)


def available(device: torch.device) -> str | None:
    """None when the fused step can run on `device`, else the reason it cannot."""
    if triton is None:
        return "the fused sample-level step needs Triton, which is not installed"
    if device.type == "cuda" or (device.type == "cpu" and interpreting()):
        return None
    return f"the fused sample-level step needs CUDA (or TRITON_INTERPRET=1), not {device}"


@functools.cache
def _sm_count(index: int) -> int:
    return int(torch.cuda.get_device_properties(index).multi_processor_count)


class FusedSampleStep:
    """The sample-level half of `sampler`'s frame as one kernel launch per bottom frame."""

    def __init__(
        self, sampler: Sampler, *, programs: int | None = None, precision: Precision = "ieee"
    ) -> None:
        reason = available(sampler.device)
        if reason is not None:
            raise ValueError(reason)
        if sampler.precision != "fp32":
            raise ValueError("the fused sample-level step runs fp32 weights only")
        from .fused_kernel import frame_kernel

        self.kernel, self.s, self.precision = frame_kernel, sampler, precision
        cfg, dev, rows = sampler.cfg, sampler.device, sampler.rows
        d, q = cfg.dim, cfg.q_levels
        hidden = sampler.hidden
        self.n_hidden = len(hidden)
        # (in, out) layouts: the transposed weights the eager path already holds
        self.wh = (torch.stack([h.wt for h in hidden]) if hidden
                   else torch.zeros(1, device=dev)).contiguous()
        self.bh = (torch.stack([_bias(h.bias, d, dev) for h in hidden]) if hidden
                   else torch.zeros(1, device=dev)).contiguous()
        self.wo, self.bo = sampler.output.wt, _bias(sampler.output.bias, q, dev)
        self.x = torch.zeros(2, rows, d, device=dev)  # activations, ping-pong
        self.logits = torch.zeros(rows, q, device=dev)  # logits + noise of the last sample
        self.block_n = block_n(rows)
        tiles = -(-rows // BLOCK_B) * -(-max(d, q) // self.block_n)
        if programs is None:
            programs = 1 if dev.type != "cuda" else min(tiles, _sm_count(dev.index or 0))
        if dev.type != "cuda" and programs != 1:
            raise ValueError("the interpreter runs programs one after another: use 1 program")
        self.programs = max(1, programs)
        self.barrier = torch.zeros(1, dtype=torch.int32, device=dev)  # grid barrier counter

    def frame(self, t0: int, up: torch.Tensor) -> None:
        """Samples n_top + t0 .. + F - 1 of `sampler.hist` from the conditioning up [R, F, D]."""
        s, cfg = self.s, self.s.cfg
        assert up.is_contiguous() and up.shape == (s.rows, s.f, cfg.dim)
        self.barrier.zero_()
        self.kernel[(self.programs,)](
            s.hist, up, s.noise, s.table, self.wh, self.bh, self.wo, self.bo,
            self.x, self.logits, self.barrier, s.rows, s.n_top + t0, t0,
            H=2 * s.n_top, N_TOP=s.n_top, D=cfg.dim, Q=cfg.q_levels, F=s.f,
            N_HIDDEN=self.n_hidden, BLOCK_B=BLOCK_B, BLOCK_N=self.block_n, BLOCK_K=BLOCK_K,
            BLOCK_Q=triton.next_power_of_2(cfg.q_levels), NUM_PROGRAMS=self.programs,
            PRECISION=self.precision,
        )


def _bias(bias: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor:
    return bias if bias is not None else torch.zeros(n, device=device)
