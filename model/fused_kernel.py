"""The Triton kernel of the fused sample-level step (see model/fused_step.py for how it is used).

One launch computes the F samples of one bottom-tier frame for every stream: for each sample the
embedding-table lookup of the previous F samples plus the frame's conditioning, the MLP's hidden
layers, the output layer plus the Gumbel noise, and the argmax that picks the sample, which the
next sample's lookup reads at once. Between the phases nothing leaves the chip but two small
scratch vectors per stream ([R, D] activations, [R, Q] logits, living in L2).

Work split: NUM_PROGRAMS programs (one per SM at most, all resident at once) share every phase
by output tiles of BLOCK_B streams x BLOCK_N features, and meet at a grid barrier (an atomic
counter) between phases, so at batch 1 all SMs stream the MLP's weights instead of one. With
NUM_PROGRAMS = 1 every barrier compiles away; that is how Triton's CPU interpreter
(TRITON_INTERPRET=1), which runs programs one after another, checks the kernel's arithmetic.

The argmax of a sample is computed where it is needed (by every tile that builds the next
sample's input, from the [R, Q] logits), so it needs no barrier of its own; the tiles of the
first feature block write it to `hist`. Rows never mix: a stream's samples do not depend on the
other streams of the batch (tile rows are independent, reductions run along features only).

Pointers: hist int64 [R, H] (H = 2 * n_top), cond fp32 [R, F, D], noise fp32 [R, n_top, Q],
table fp32 [F * Q, D], hidden weights fp32 [L, D, D] as (in, out), hidden biases [L, D], output
weight fp32 [D, Q] as (in, out), bias [Q], scratch x [2, R, D], logits [R, Q], barrier counter
int32 [1].
This module is imported only where Triton is installed.
"""

# mypy: disable-error-code="untyped-decorator,no-untyped-def"
# (triton ships no type information: its decorators and language calls are untyped)

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _grid_sync(count_ptr, gen, NUM_PROGRAMS: tl.constexpr):
    """Grid barrier number `gen` (1, 2, ...) of the launch: every program adds 1 to the counter
    (release), then waits until it reaches gen * NUM_PROGRAMS (acquire), so the stores before
    the barrier are visible to the loads after it (which bypass L1). A scalar atomic runs on one
    thread of the program: this is `red.global.gpu.release.add` and a spin on
    `ld.global.gpu.acquire` (tests/model/test_fused_step.py reads it in the sm_90 PTX)."""
    if NUM_PROGRAMS > 1:
        tl.debug_barrier()
        tl.atomic_add(count_ptr, 1, sem="release", scope="gpu")
        target = gen * NUM_PROGRAMS
        seen = tl.atomic_add(count_ptr, 0, sem="acquire", scope="gpu")
        while seen < target:
            seen = tl.atomic_add(count_ptr, 0, sem="acquire", scope="gpu")
        tl.debug_barrier()


@triton.jit
def _argmax_rows(logit_ptr, rows, R, Q: tl.constexpr, BLOCK_Q: tl.constexpr):
    """argmax over the Q logits (noise included) of each row in `rows` -> [BLOCK_B] int64."""
    q = tl.arange(0, BLOCK_Q)
    mask = (rows[:, None] < R) & (q[None, :] < Q)
    v = tl.load(logit_ptr + rows[:, None] * Q + q[None, :], mask=mask, other=float("-inf"),
                cache_modifier=".cg")
    return tl.argmax(v, axis=1).to(tl.int64)


@triton.jit
def _dense_phase(
    in_ptr, w_ptr, b_ptr, out_ptr, noise_ptr, noise_offset, R, pid,
    K: tl.constexpr, N: tl.constexpr, RELU: tl.constexpr, NOISE: tl.constexpr,
    NOISE_ROW: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr, NUM_PROGRAMS: tl.constexpr, PRECISION: tl.constexpr,
):
    """out [R, N] = act(in [R, K] @ w [K, N] + b) (+ noise), this program's tiles of it."""
    n_bb = tl.cdiv(R, BLOCK_B)
    n_tiles = n_bb * tl.cdiv(N, BLOCK_N)
    for tile in range(pid, n_tiles, NUM_PROGRAMS):
        rows = (tile % n_bb) * BLOCK_B + tl.arange(0, BLOCK_B)
        cols = (tile // n_bb) * BLOCK_N + tl.arange(0, BLOCK_N)
        rmask, cmask = rows < R, cols < N
        acc = tl.zeros((BLOCK_B, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            k = k0 + tl.arange(0, BLOCK_K)
            kmask = k < K
            x = tl.load(in_ptr + rows[:, None] * K + k[None, :],
                        mask=rmask[:, None] & kmask[None, :], other=0.0, cache_modifier=".cg")
            w = tl.load(w_ptr + k[:, None] * N + cols[None, :],
                        mask=kmask[:, None] & cmask[None, :], other=0.0)
            acc = tl.dot(x, w, acc, input_precision=PRECISION)
        acc += tl.load(b_ptr + cols, mask=cmask, other=0.0)[None, :]
        if RELU:
            acc = tl.maximum(acc, 0.0)
        mask = rmask[:, None] & cmask[None, :]
        if NOISE:
            acc += tl.load(noise_ptr + rows[:, None] * NOISE_ROW + noise_offset + cols[None, :],
                           mask=mask, other=0.0)
        tl.store(out_ptr + rows[:, None] * N + cols[None, :], acc, mask=mask)


@triton.jit
def frame_kernel(
    hist_ptr, cond_ptr, noise_ptr, table_ptr, wh_ptr, bh_ptr, wo_ptr, bo_ptr,
    x_ptr, logit_ptr, count_ptr, R, p0, t0,
    H: tl.constexpr, N_TOP: tl.constexpr, D: tl.constexpr, Q: tl.constexpr,
    F: tl.constexpr, N_HIDDEN: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr, BLOCK_Q: tl.constexpr, NUM_PROGRAMS: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """Samples p0 .. p0 + F - 1 of hist (the bottom frame at t0 of the top frame) for every
    stream. The barrier counter must be 0 at launch."""
    pid = tl.program_id(0)
    n_bb = tl.cdiv(R, BLOCK_B)
    for j in range(F):
        p = p0 + j  # position in hist of the sample being made
        # 1. input: argmax of the previous sample (j > 0), table rows of the last F samples
        n_tiles = n_bb * tl.cdiv(D, BLOCK_N)
        for tile in range(pid, n_tiles, NUM_PROGRAMS):
            bb, nb = tile % n_bb, tile // n_bb
            rows = bb * BLOCK_B + tl.arange(0, BLOCK_B)
            cols = nb * BLOCK_N + tl.arange(0, BLOCK_N)
            rmask, cmask = rows < R, cols < D
            prev = _argmax_rows(logit_ptr, rows, R, Q, BLOCK_Q)
            if j > 0:
                if nb == 0:
                    tl.store(hist_ptr + rows * H + p - 1, prev, mask=rmask)
            mask = rmask[:, None] & cmask[None, :]
            acc = tl.load(cond_ptr + rows[:, None] * (F * D) + j * D + cols[None, :],
                          mask=mask, other=0.0)
            for f in tl.static_range(F):
                level = tl.load(hist_ptr + rows * H + p - F + f, mask=rmask, other=0,
                                cache_modifier=".cg")
                if f == F - 1:
                    level = tl.where(j > 0, prev, level)
                acc += tl.load(table_ptr + (level + f * Q)[:, None] * D + cols[None, :],
                               mask=mask, other=0.0)
            tl.store(x_ptr + rows[:, None] * D + cols[None, :], tl.maximum(acc, 0.0), mask=mask)
        _grid_sync(count_ptr, j * (N_HIDDEN + 2) + 1, NUM_PROGRAMS)
        # 2. hidden layers, ping-ponging between the two scratch buffers
        for layer in tl.static_range(N_HIDDEN):
            _dense_phase(
                x_ptr + (layer % 2) * R * D, wh_ptr + layer * D * D, bh_ptr + layer * D,
                x_ptr + ((layer + 1) % 2) * R * D, noise_ptr, 0, R, pid,
                D, D, True, False, 0, BLOCK_B, BLOCK_N, BLOCK_K, NUM_PROGRAMS, PRECISION,
            )
            _grid_sync(count_ptr, j * (N_HIDDEN + 2) + 2 + layer, NUM_PROGRAMS)
        # 3. logits + T * Gumbel noise of this sample
        _dense_phase(
            x_ptr + (N_HIDDEN % 2) * R * D, wo_ptr, bo_ptr, logit_ptr, noise_ptr,
            (t0 + j) * Q, R, pid, D, Q, False, True, N_TOP * Q, BLOCK_B, BLOCK_N, BLOCK_K,
            NUM_PROGRAMS, PRECISION,
        )
        _grid_sync(count_ptr, (j + 1) * (N_HIDDEN + 2), NUM_PROGRAMS)
    # 4. the frame's last sample
    for bb in range(pid, n_bb, NUM_PROGRAMS):
        rows = bb * BLOCK_B + tl.arange(0, BLOCK_B)
        last = _argmax_rows(logit_ptr, rows, R, Q, BLOCK_Q)
        tl.store(hist_ptr + rows * H + p0 + F - 1, last, mask=rows < R)
