"""Small real pictures for validation, drawn deterministically: shapes, stripes and gradients.

``picture(kind, height, width, rng)`` draws one HxWx3 uint8 RGB image; ``fit`` brings
a picture to a model's input size the way the recipe's ``image.resize`` says (what
an app does with a photo before Core ML sees it). Validation feeds these instead of
noise, so image models see edges, flat regions and smooth ramps as in photos.
"""

from __future__ import annotations

import numpy as np

KINDS = ("circle", "square", "stripes", "gradient", "checker", "rings")


def picture(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One HxWx3 uint8 picture of ``kind``; colours and placement come from ``rng``."""
    if kind not in KINDS:
        raise ValueError(f"unknown picture kind {kind!r}; known: {', '.join(KINDS)}")
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = yy / max(height - 1, 1), xx / max(width - 1, 1)  # 0..1
    fg, bg = _colour(rng), _colour(rng)
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.cos(angle) * x + np.sin(angle) * y)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = bg[None, None] * (1 - t[..., None]) + fg[None, None] * t[..., None]
        return _u8(img)
    if kind == "circle":
        cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.35)
        mask = (y - cy) ** 2 + (x - cx) ** 2 <= r * r
    elif kind == "square":
        cy, cx, half = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.12, 0.3)
        mask = (np.abs(y - cy) <= half) & (np.abs(x - cx) <= half)
    elif kind == "stripes":
        period, angle = rng.uniform(0.08, 0.25), rng.uniform(0, np.pi)
        mask = ((np.cos(angle) * x + np.sin(angle) * y) / period) % 1.0 < 0.5
    elif kind == "checker":
        n = int(rng.integers(3, 9))
        mask = ((np.floor(y * n) + np.floor(x * n)) % 2) == 0
    else:  # rings
        cy, cx, period = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.2)
        mask = (np.sqrt((y - cy) ** 2 + (x - cx) ** 2) / period) % 1.0 < 0.5
    img = np.where(mask[..., None], fg[None, None], bg[None, None])
    return _u8(img)


def fit(pixels: np.ndarray, height: int, width: int, mode: str = "center_crop") -> np.ndarray:
    """Bring an HxWx3 uint8 picture to height x width (bilinear, as torchvision on PIL images).

    center_crop: scale the shorter side to fit, then crop the middle (open_clip's "shortest" resize);
    scale_fill: stretch to the size; scale_fit: scale the longer side to fit, pad with black.
    """
    from PIL import Image

    img = Image.fromarray(pixels)
    w0, h0 = img.size
    if (h0, w0) == (height, width):
        return np.asarray(img).copy()
    if mode == "scale_fill":
        return np.asarray(img.resize((width, height), Image.BILINEAR))
    if mode == "scale_fit":
        s = min(height / h0, width / w0)
        w1, h1 = max(1, round(w0 * s)), max(1, round(h0 * s))
        canvas = Image.new("RGB", (width, height))
        canvas.paste(img.resize((w1, h1), Image.BILINEAR), ((width - w1) // 2, (height - h1) // 2))
        return np.asarray(canvas)
    if mode != "center_crop":
        raise ValueError(f"unknown resize mode {mode!r}")
    # torchvision's Resize(size) then CenterCrop(size), step for step (open_clip's "shortest" mode).
    if height == width:
        short, long = (w0, h0) if w0 <= h0 else (h0, w0)
        new_short, new_long = height, int(height * long / short)
        w1, h1 = (new_short, new_long) if w0 <= h0 else (new_long, new_short)
    else:
        s = max(height / h0, width / w0)
        h1, w1 = max(height, round(h0 * s)), max(width, round(w0 * s))
    img = img.resize((w1, h1), Image.BILINEAR)
    top, left = int(round((h1 - height) / 2.0)), int(round((w1 - width) / 2.0))
    return np.asarray(img.crop((left, top, left + width, top + height)))


def source_size(height: int, width: int) -> tuple[int, int]:
    """A photo-like size larger than the input, in another aspect ratio, so ``fit`` really resizes and crops."""
    return height * 5 // 4 + 3, width * 3 // 2 + 5


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=3).astype(np.float32)


def _u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
