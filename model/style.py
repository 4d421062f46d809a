"""Style distance: how far the sound of some clips is from the sound of the album.

The same idea as the Fréchet Audio Distance (FAD), on features computed here with no downloaded
weights: fit a Gaussian to the frame vectors (model/frame_features.py `vectors`: MFCC and chroma,
z-scored with the album's own statistics) of the clips, another to the album's, and take the
Fréchet distance between the two,

    d = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2).

Only audible frames count (silence is a flag of its own). The album against itself is 0; with
z-scored features a clip of another piece in the same style is a few units away, noise is tens.
Fits of several clips pool exactly: `FrameStats` keeps the count, the sum and the sum of outer
products, so an epoch's distance is computed from its clips' stats without their audio.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

RIDGE = 1e-3  # added to covariance diagonals: a short clip's fit is not full rank


@dataclass(frozen=True)
class FrameStats:
    """Sufficient statistics of a set of frame vectors (D dimensions)."""

    n: int
    total: npt.NDArray[np.float64]  # (D,)
    outer: npt.NDArray[np.float64]  # (D, D) sum of x x^T

    @classmethod
    def of(cls, vectors: npt.ArrayLike) -> FrameStats:
        x = np.asarray(vectors, dtype=np.float64)
        return cls(len(x), x.sum(axis=0), x.T @ x)

    @classmethod
    def empty(cls, dims: int) -> FrameStats:
        return cls(0, np.zeros(dims), np.zeros((dims, dims)))

    def __add__(self, other: FrameStats) -> FrameStats:
        return FrameStats(self.n + other.n, self.total + other.total, self.outer + other.outer)

    def fit(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(mean, covariance); ValueError with fewer than two frames."""
        if self.n < 2:
            raise ValueError("a style fit needs at least two audible frames")
        mean = self.total / self.n
        cov = (self.outer - self.n * np.outer(mean, mean)) / (self.n - 1)
        return mean, (cov + cov.T) / 2

    def to_bytes(self) -> bytes:
        """An .npz file's bytes (`load` reads them back)."""
        buf = io.BytesIO()
        np.savez(buf, n=np.array(self.n), total=self.total, outer=self.outer)
        return buf.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> FrameStats:
        with np.load(Path(path)) as data:
            return cls(int(data["n"]), data["total"], data["outer"])


def frechet_distance(a: FrameStats, b: FrameStats) -> float:
    """The Fréchet distance between Gaussian fits of `a` and `b` (>= 0)."""
    mu_a, cov_a = a.fit()
    mu_b, cov_b = b.fit()
    ridge = RIDGE * np.eye(len(mu_a))
    cov_a, cov_b = cov_a + ridge, cov_b + ridge
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = float(np.sqrt(np.clip(inner, 0, None)).sum())
    d = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(0.0, d)
