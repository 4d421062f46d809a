"""Neural style transfer by optimisation (Gatys, Ecker and Bethge 2015), the paper's cover method.

An image is optimised so that the Gram matrices of its features match the style image's and its
deeper features match the content image's. Two feature networks are offered:

- `VGG19Features`: the network Gatys et al. used, rebuilt in plain torch (no torchvision) with
  torchvision's layer numbering. Its weights are NEVER downloaded: the operator supplies a local
  file, e.g. torchvision's `vgg19-dcbb9e9d.pth` (a state_dict with `features.N.weight` keys).
- `RandomFilterNet`: a weight-free stand-in, a shallow multi-scale CNN with random filters drawn
  from the seed. Random shallow networks carry enough texture statistics for Gram-matrix
  synthesis (Ustyuzhaninov et al. 2016, "Texture synthesis using shallow convolutional networks
  with random filters"), so covers can be made with nothing but torch installed.

Images are tensors of shape (1, 3, H, W) in [0, 1]. Nothing here touches global torch state: the
random filters and the starting noise come from a `torch.Generator` seeded by the caller.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cover_weights import VGG19_LAYOUT, vgg_names

if TYPE_CHECKING:
    from .covers import OptimizeConfig

_vgg_names = vgg_names  # the name tests and older code use
__all__ = ["VGG19_LAYOUT", "RandomFilterNet", "VGG19Features", "optimize_image"]

log = logging.getLogger(__name__)

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """VGG19's convolutional part up to the deepest layer style transfer reads (relu5_1).

    Channel widths are read from the state_dict, so a narrow VGG-shaped net (same layers, fewer
    channels) loads too; tests use one, real use needs the real weights.
    """

    mean: torch.Tensor  # (1, 3, 1, 1) ImageNet channel means, a buffer
    std: torch.Tensor  # (1, 3, 1, 1) ImageNet channel deviations, a buffer

    def __init__(self, state_dict: dict[str, torch.Tensor]):
        super().__init__()
        wanted = set(STYLE_LAYERS) | {CONTENT_LAYER}
        layers: list[nn.Module] = []
        self.taps: dict[int, str] = {}  # index in `body` -> layer name, for the layers read
        in_ch = 3
        for index, name in _vgg_names():
            if name.startswith("conv"):
                weight = state_dict.get(f"{index}.weight")
                bias = state_dict.get(f"{index}.bias")
                if weight is None or bias is None:
                    raise ValueError(
                        f"not a VGG19 state_dict: no weights for features.{index} ({name})"
                    )
                out_ch, got_in, kh, kw = weight.shape
                if got_in != in_ch or (kh, kw) != (3, 3) or bias.shape != (out_ch,):
                    raise ValueError(
                        f"not a VGG19 state_dict: features.{index} ({name}) has shape "
                        f"{tuple(weight.shape)}, expected (out, {in_ch}, 3, 3)"
                    )
                conv = nn.Conv2d(in_ch, out_ch, 3, padding=1)
                assert conv.bias is not None  # Conv2d has a bias unless told otherwise
                with torch.no_grad():
                    conv.weight.copy_(weight)
                    conv.bias.copy_(bias)
                layers.append(conv)
                in_ch = out_ch
            elif name.startswith("relu"):
                layers.append(nn.ReLU())
            else:
                layers.append(nn.MaxPool2d(2, 2))
            if name in wanted:
                self.taps[len(layers) - 1] = name
            if name == "relu5_1":
                break
        self.body = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> VGG19Features:
        """Load operator-supplied weights (torchvision layout, with or without `features.`)."""
        if not os.path.isfile(path):
            raise ValueError(f"VGG19 weights not found at {path}")
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many unrelated types here  # noqa: BLE001
            raise ValueError(f"cannot read VGG19 weights from {path}: {exc}") from None
        if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
            raw = raw["state_dict"]
        if not isinstance(raw, dict):
            raise ValueError(f"{path} holds a {type(raw).__name__}, not a state_dict")
        state = {
            k.removeprefix("features."): v for k, v in raw.items() if isinstance(v, torch.Tensor)
        }
        return cls(state)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """x: (1, 3, H, W) in [0, 1] -> (style features, content feature)."""
        x = (x - self.mean) / self.std
        found: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in self.taps:
                found[self.taps[i]] = x
        return [found[n] for n in STYLE_LAYERS], found[CONTENT_LAYER]


class RandomFilterNet(nn.Module):
    """Random conv layers (ReLU after each) at three scales of an image pyramid.

    One layer at full resolution, two at half and quarter resolution (a second full-resolution
    layer would triple the cost for fine detail the upscaling blurs anyway). Style features: every
    layer (5 Gram matrices); content feature: the second layer at half resolution. Filters are
    zero-mean per channel so they answer to structure; colour enters through the biases and the
    Gram matrices' cross terms.
    """

    def __init__(self, generator: torch.Generator, *, channels: int = 32, scales: int = 3):
        super().__init__()
        self.scales = scales
        self.first = nn.ModuleList()
        self.second = nn.ModuleList()
        for s in range(scales):
            k = (3, 5, 7)[min(s, 2)]  # wider kernels at coarser scales see larger pieces
            self.first.append(self._random_conv(3, channels, k, generator))
            if s > 0:
                self.second.append(self._random_conv(channels, channels, 3, generator))
        self.requires_grad_(False)

    @staticmethod
    def _random_conv(c_in: int, c_out: int, k: int, generator: torch.Generator) -> nn.Conv2d:
        conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, padding_mode="reflect")
        assert conv.bias is not None  # Conv2d has a bias unless told otherwise
        w = torch.randn(c_out, c_in, k, k, generator=generator)
        w = w - w.mean(dim=(2, 3), keepdim=True)
        w = w * (2.0 / (c_in * k * k)) ** 0.5 / w.std()
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(0.1 * torch.randn(c_out, generator=generator))
        return conv

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """x: (1, 3, H, W) in [0, 1] -> (style features, content feature)."""
        x = (x - 0.5) / 0.25
        style, content = [], None
        for s in range(self.scales):
            xs = F.avg_pool2d(x, 2**s) if s else x  # (1, 3, H / 2^s, W / 2^s)
            h1 = F.relu(self.first[s](xs))
            style.append(h1)
            if s > 0:
                h2 = F.relu(self.second[s - 1](h1))
                style.append(h2)
                if s == 1:
                    content = h2
        return style, content if content is not None else style[0]


def gram(f: torch.Tensor) -> torch.Tensor:
    """f: (1, C, H, W) -> (C, C), averaged over positions so image size does not matter."""
    _, c, h, w = f.shape
    x = f.reshape(c, h * w)
    return x @ x.T / (h * w)


def optimize_image(
    net: nn.Module,
    content: torch.Tensor,
    style: torch.Tensor,
    config: OptimizeConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Gatys-style optimisation starting from the content image plus seeded noise.

    content: (1, 3, H, W), style: (1, 3, H', W'), both in [0, 1] and on the net's device.
    Returns the stylized image, (1, 3, H, W) in [0, 1].
    """
    with torch.no_grad():
        style_feats, _ = net(style)
        targets = [gram(f) for f in style_feats]
        target_norms = [t.pow(2).sum().clamp_min(1e-8) for t in targets]
        _, content_target = net(content)
        content_norm = content_target.pow(2).sum().clamp_min(1e-8)
    noise = torch.randn(content.shape, generator=generator).to(content.device)
    x = (content + config.init_noise * noise).clamp(0, 1).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.learning_rate)
    for step in range(config.steps):
        opt.zero_grad(set_to_none=True)
        feats, content_feat = net(x)
        # A sum of tensors is a tensor (typeshed's `sum` also allows its start value, 0).
        style_loss = cast(torch.Tensor, sum(
            (gram(f) - t).pow(2).sum() / n
            for f, t, n in zip(feats, targets, target_norms, strict=True)
        )) / len(targets)
        content_loss = (content_feat - content_target).pow(2).sum() / content_norm
        loss = config.style_weight * style_loss + config.content_weight * content_loss
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
        if step % 50 == 0 or step == config.steps - 1:
            log.debug(
                "style step %d: style %.4f content %.4f",
                step,
                style_loss.item(),
                content_loss.item(),
            )
    return x.detach()
