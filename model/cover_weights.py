"""The operator's VGG19 weights file, checked without torch (the web process lists the cover
backends this install can run, and may not import torch).

The layer numbering is torchvision's `vgg19().features`; model/cover_gatys.py builds the network
from the same table.
"""

from __future__ import annotations

import os
from typing import Any

from .torch_pickle import TensorInfo, TorchFileError, read_header

# torchvision's VGG19 "E" configuration: conv widths, "M" = 2x2 max pool.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
LAST_LAYER = "relu5_1"  # the deepest layer style transfer reads


def vgg_names() -> list[tuple[int, str]]:
    """(index in torchvision's `features`, name) for every layer, e.g. (1, "relu1_1")."""
    names, block, conv, index = [], 1, 0, 0
    for item in VGG19_LAYOUT:
        if item == "M":
            names.append((index, f"pool{block}"))
            block, conv, index = block + 1, 0, index + 1
        else:
            conv += 1
            names += [(index, f"conv{block}_{conv}"), (index + 1, f"relu{block}_{conv}")]
            index += 2
    return names


def vgg19_weights_problem(path: str | os.PathLike[str] | None) -> str | None:
    """Why `path` cannot serve as VGG19 weights, or None when it can: a torch.save state_dict
    (torchvision layout, with or without `features.`) with a 3x3 conv of matching widths at every
    layer up to relu5_1. Reads only the file's header."""
    if not path:
        return "no VGG19 weights file is configured"
    if not os.path.isfile(path):
        return f"the VGG19 weights file {os.fspath(path)} does not exist"
    try:
        raw: Any = read_header(os.fspath(path))  # type: ignore[arg-type]
    except TorchFileError as exc:
        return f"{os.fspath(path)} is not a torch weights file ({exc})"
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        return f"{os.fspath(path)} holds no state_dict"
    state = {str(k).removeprefix("features."): v for k, v in raw.items()}
    in_ch = 3
    for index, name in vgg_names():
        if name.startswith("conv"):
            weight, bias = state.get(f"{index}.weight"), state.get(f"{index}.bias")
            if not isinstance(weight, TensorInfo) or not isinstance(bias, TensorInfo):
                return f"not a VGG19 state_dict: no features.{index} ({name})"
            if len(weight.shape) != 4 or weight.shape[1:] != (in_ch, 3, 3):
                return f"not a VGG19 state_dict: features.{index} ({name}) has shape {weight.shape}"
            in_ch = weight.shape[0]
        if name == LAST_LAYER:
            return None
    return None
