"""Core ML image inputs: turning an RGB picture into the tensor the model sees.

Core ML hands an image feature to the model as a float CHW array of 0..255 pixel values
in the declared channel order (RGB or BGR; one channel for grayscale). For ML Programs
coremltools puts any scale/bias into the program as ops, so nothing more happens here;
NeuralNetwork models carry them in ``spec.neuralNetwork.preprocessing`` (applied by the
caller via :func:`apply_nn_preprocessing`).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

GRAYSCALE, RGB, BGR, GRAYSCALE_FLOAT16 = 10, 20, 30, 40


def _to_array(img) -> np.ndarray:
    if hasattr(img, "mode") and hasattr(img, "size"):  # PIL image, without importing PIL
        img = img.convert("L" if img.mode in ("L", "I;16", "F") else "RGB")
    return np.asarray(img)


def image_to_tensor(name: str, img, image_type) -> np.ndarray:
    """An HxWx3 uint8 RGB array (or HxW / HxWx1 for grayscale, or a PIL image) -> [1, C, H, W] float32."""
    arr = _to_array(img)
    gray = image_type.colorSpace in (GRAYSCALE, GRAYSCALE_FLOAT16)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if gray:
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim != 2:
            raise InputError(f"image input {name!r} is grayscale: pass an HxW (or HxWx1) array or an 'L' PIL image")
        chw = arr[None].astype(np.float32)
    else:
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise InputError(f"image input {name!r}: expected an HxWx3 RGB array, got shape {arr.shape}")
        rgb = arr[..., :3].astype(np.float32)
        if image_type.colorSpace == BGR:
            rgb = rgb[..., ::-1]
        chw = np.transpose(rgb, (2, 0, 1))
    h, w = chw.shape[1:]
    if (image_type.height, image_type.width) != (h, w) and image_type.height and image_type.width:
        raise InputError(f"image input {name!r}: got {w}x{h}, model expects {image_type.width}x{image_type.height} "
                         "(Core ML does not resize for MLModel.prediction)")
    return np.ascontiguousarray(chw[None])


def apply_nn_preprocessing(tensor: np.ndarray, scaler, color_space: int) -> np.ndarray:
    """NeuralNetwork image scaler: ``x * channelScale + bias``, biases by colour name."""
    scale = scaler.channelScale if scaler.channelScale != 0 else 1.0
    if color_space in (GRAYSCALE, GRAYSCALE_FLOAT16):
        bias = np.array([scaler.grayBias], np.float32)
    elif color_space == BGR:
        bias = np.array([scaler.blueBias, scaler.greenBias, scaler.redBias], np.float32)
    else:
        bias = np.array([scaler.redBias, scaler.greenBias, scaler.blueBias], np.float32)
    return tensor * np.float32(scale) + bias.reshape(1, -1, 1, 1)
