"""Seeded inputs for export and validation, made from a graph's input specs.

Float inputs are standard normal; integer inputs uniform in their ``range``; image
inputs are small real pictures (``pipeline_runner.images``: shapes, stripes,
gradients) fitted to the input size as the recipe's ``image.resize`` says, kept as
pixels for Core ML's image input and normalised with the recipe's ``image`` section
for PyTorch and ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sample:
    tensors: dict[str, np.ndarray]  # what PyTorch and ONNX Runtime take
    pixels: dict[str, np.ndarray]  # image inputs as HxWx3 uint8 (what Core ML's image input takes)


def normalise(pixels: np.ndarray, image) -> np.ndarray:
    """HxWx3 uint8 (RGB) → 1x3xHxW float32, as the recipe's image section (an ``ImageSpec``) says."""
    x = pixels.astype(np.float32)
    if image.color_layout == "BGR":
        x = x[..., ::-1]
    x = x * np.float32(image.pixel_scale)
    x = (x - np.asarray(image.mean, np.float32)) / np.asarray(image.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def make_samples(inputs, seed: int, count: int) -> list[Sample]:
    """``count`` samples for the graph inputs ``inputs`` (``InputSpec`` values)."""
    rng = np.random.default_rng(seed)
    return [_one(inputs, rng) for _ in range(count)]


def _one(inputs, rng: np.random.Generator) -> Sample:
    tensors, pixels = {}, {}
    for spec in inputs:
        shape, dtype = tuple(spec.shape), np.dtype(spec.dtype)
        if spec.image is not None:
            n, _, h, w = shape
            imgs = [_picture(rng, h, w, spec.image) for _ in range(n)]
            pixels[spec.name] = imgs[0]
            tensors[spec.name] = np.concatenate([normalise(i, spec.image) for i in imgs]).astype(dtype)
        elif dtype.kind in "iu":
            low, high = spec.range
            tensors[spec.name] = rng.integers(int(low), int(high), size=shape).astype(dtype)
        elif spec.range is not None:
            low, high = spec.range
            tensors[spec.name] = rng.uniform(low, high, size=shape).astype(dtype)
        else:
            tensors[spec.name] = rng.standard_normal(shape).astype(dtype)
    return Sample(tensors, pixels)


def _picture(rng: np.random.Generator, height: int, width: int, image) -> np.ndarray:
    """A rendered picture of a random kind at a photo-like size, fitted to height x width."""
    from pipeline_runner import images

    kind = images.KINDS[int(rng.integers(len(images.KINDS)))]
    src = images.picture(kind, *images.source_size(height, width), rng)
    return images.fit(src, height, width, image.resize)
