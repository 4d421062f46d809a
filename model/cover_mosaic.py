"""Patch mosaic: a cover rebuilt from small pieces of another image (or of itself).

The style image is cut into a library of square tiles at several scales, from the whole image
shrunk to one tile (the photomosaic "made of small copies of itself") down to close-up patches,
in four rotations. Each cell of a grid over the content is replaced by one of the library tiles
whose 2x2 colour layout is nearest the cell's (chosen at random among the few best, by seed),
shifted toward the cell's mean colour and lightly mixed with it so the cover stays legible.
Pure numpy and Pillow; works at the output size directly, so 3000 px covers stay sharp.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

LIBRARY_SCALES = (1, 2, 4, 8)  # the style image spans this many tiles across, per scale
DEFAULT_CELLS = 48  # tiles across the output
TINT = 0.6  # how far a tile's mean colour moves toward its cell's
KEEP = 0.15  # share of the content cell mixed back in
CANDIDATES = 3  # random choice among this many nearest tiles


def _descriptors(tiles: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """tiles: (N, t, t, 3) -> (N, 12), the mean colour of each quarter."""
    n, t = tiles.shape[:2]
    h = t // 2
    quarters = tiles[:, : 2 * h, : 2 * h].reshape(n, 2, h, 2, h, 3)
    means: npt.NDArray[np.float32] = quarters.mean(axis=(2, 4), dtype=np.float32)
    return means.reshape(n, 12)


def tile_library(style: Image.Image, tile: int) -> npt.NDArray[np.uint8]:
    """(N, tile, tile, 3) uint8 tiles cut from `style` (a square RGB image)."""
    tiles = []
    for m in LIBRARY_SCALES:
        arr = np.asarray(style.resize((tile * m, tile * m), Image.Resampling.LANCZOS))
        stride = max(1, tile // 2)
        win = sliding_window_view(arr, (tile, tile, 3))[::stride, ::stride, 0]  # (a, b, t, t, 3)
        tiles.append(win.reshape(-1, tile, tile, 3))
    base = np.concatenate(tiles)
    return np.concatenate([np.rot90(base, k, axes=(1, 2)) for k in range(4)])


def mosaic(
    content: Image.Image,
    style: Image.Image,
    *,
    size: int,
    seed: int,
    cells: int = DEFAULT_CELLS,
) -> Image.Image:
    """A `size` x `size` RGB mosaic of `content` (square) built from tiles of `style` (square)."""
    tile = max(4, size // cells)
    grid = -(-size // tile)  # cells per side, covering `size` (the last row/column is cropped)
    canvas = grid * tile
    resized = content.resize((canvas, canvas), Image.Resampling.LANCZOS)
    target = np.asarray(resized, dtype=np.float32)  # (canvas, canvas, 3)
    cells_grid = target.reshape(grid, tile, grid, tile, 3).transpose(0, 2, 1, 3, 4)
    cell_px = cells_grid.reshape(-1, tile, tile, 3)  # (G*G, t, t, 3)
    library = tile_library(style, tile)

    cell_desc = _descriptors(cell_px)  # (G*G, 12)
    lib_desc = _descriptors(library)  # (L, 12)
    # Squared distances via |a|^2 - 2ab + |b|^2: (G*G, L) without a (G*G, L, 12) temporary.
    d = (cell_desc**2).sum(1)[:, None] - 2 * cell_desc @ lib_desc.T + (lib_desc**2).sum(1)[None, :]
    k = min(CANDIDATES, len(library))
    best = np.argpartition(d, k - 1, axis=1)[:, :k]  # (G*G, k), unordered
    best = np.take_along_axis(best, np.argsort(np.take_along_axis(d, best, 1), axis=1), 1)
    rng = np.random.default_rng(seed)
    chosen = best[np.arange(len(best)), rng.integers(0, k, size=len(best))]

    pieces = library[chosen].astype(np.float32)  # (G*G, t, t, 3)
    shift = cell_px.mean(axis=(1, 2), keepdims=True) - pieces.mean(axis=(1, 2), keepdims=True)
    pieces = (1 - KEEP) * (pieces + TINT * shift) + KEEP * cell_px
    out = pieces.reshape(grid, grid, tile, tile, 3).transpose(0, 2, 1, 3, 4)
    out = out.reshape(canvas, canvas, 3)
    return Image.fromarray(np.clip(out[:size, :size] + 0.5, 0, 255).astype(np.uint8), "RGB")
