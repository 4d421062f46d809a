"""Sample quantization: float audio in [-1, 1] <-> integer levels 0..q_levels-1.

Linear quantization is the paper's default; mu-law (G.711 style, generalised to any number of
levels) spends more levels near zero. Both work on numpy arrays and torch tensors alike through
the array API they share (`clip`, `round`, arithmetic), so the dataset (numpy) and the generator
(torch) use the same code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _lib(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return np
    import torch

    return torch


def linear_quantize(x: Any, q_levels: int) -> Any:
    """[-1, 1] -> 0..q_levels-1; level q_levels // 2 is (almost) zero."""
    lib = _lib(x)
    y = lib.clip(x, -1.0, 1.0)
    q = lib.floor((y + 1.0) * (q_levels / 2.0))
    return _as_int(lib.clip(q, 0, q_levels - 1))


def linear_dequantize(q: Any, q_levels: int) -> Any:
    """0..q_levels-1 -> the centre of each level's interval in [-1, 1]."""
    return (_as_float(q) + 0.5) * (2.0 / q_levels) - 1.0


def mulaw_quantize(x: Any, q_levels: int) -> Any:
    """mu-law companding with mu = q_levels - 1, then linear quantization."""
    lib = _lib(x)
    mu = q_levels - 1
    y = lib.clip(x, -1.0, 1.0)
    companded = lib.sign(y) * lib.log1p(mu * lib.abs(y)) / math.log1p(mu)
    return linear_quantize(companded, q_levels)


def mulaw_dequantize(q: Any, q_levels: int) -> Any:
    lib = _lib(q)
    mu = q_levels - 1
    y = linear_dequantize(q, q_levels)
    return lib.sign(y) * (lib.pow(1.0 + mu, lib.abs(y)) - 1.0) / mu


def quantize(x: Any, q_levels: int, kind: str = "linear") -> Any:
    if kind == "linear":
        return linear_quantize(x, q_levels)
    if kind == "mulaw":
        return mulaw_quantize(x, q_levels)
    raise ValueError(f"unknown quantization {kind!r}; use 'linear' or 'mulaw'")


def dequantize(q: Any, q_levels: int, kind: str = "linear") -> Any:
    if kind == "linear":
        return linear_dequantize(q, q_levels)
    if kind == "mulaw":
        return mulaw_dequantize(q, q_levels)
    raise ValueError(f"unknown quantization {kind!r}; use 'linear' or 'mulaw'")


def zero_level(q_levels: int) -> int:
    """The level silence quantizes to (both kinds): used to pad the start of a sequence."""
    return q_levels // 2


def _as_int(q: Any) -> Any:
    if isinstance(q, np.ndarray):
        return q.astype(np.int64)
    return q.long()


def _as_float(q: Any) -> Any:
    if isinstance(q, np.ndarray):
        return q.astype(np.float32)
    return q.float()
