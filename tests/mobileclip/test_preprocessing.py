"""Image preprocessing: rendered validation pictures, fitting, and the normalisation put into Core ML graphs,
all checked against open_clip's own transform (resize shortest side + centre crop + ToTensor + Normalize)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_runner import images
from pipeline_runner.recipe.typed import GraphSpec, ImageSpec, InputSpec
from pipeline_runner.samples import make_samples, normalise
from tests.mobileclip.common import OPENAI_MEAN, OPENAI_STD

IMAGE = ImageSpec(color_layout="RGB", pixel_scale=1 / 255, mean=tuple(OPENAI_MEAN), std=tuple(OPENAI_STD),
                  resize="center_crop")


def _open_clip_transform(size: int):
    import open_clip

    return open_clip.image_transform(size, is_train=False, mean=OPENAI_MEAN, std=OPENAI_STD,
                                     resize_mode="shortest", interpolation="bilinear")


@pytest.fixture(scope="module")
def photos():
    """Pictures of every kind at photo-like sizes: wider, taller, larger and smaller than the input."""
    rng = np.random.default_rng(7)
    sizes = [(83, 101), (120, 70), (64, 64), (40, 52), (97, 97), (200, 133)]
    return [images.picture(kind, h, w, rng) for kind, (h, w) in zip(images.KINDS, sizes, strict=True)]


def _pictures(count: int, height: int, width: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [images.picture(images.KINDS[i % len(images.KINDS)], height, width, rng) for i in range(count)]


def test_pictures_are_deterministic_and_not_noise():
    a, b = _pictures(6, 48, 56, seed=3), _pictures(6, 48, 56, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], _pictures(1, 48, 56, seed=4)[0])
    for img in a:
        assert img.shape == (48, 56, 3) and img.dtype == np.uint8
        assert img.std() > 1  # not a flat colour
        # neighbouring pixels mostly agree (uniform noise differs by ~85 on average)
        assert np.abs(np.diff(img.astype(int), axis=1)).mean() < 20
    with pytest.raises(ValueError, match="unknown picture kind"):
        images.picture("triangle", 8, 8, np.random.default_rng(0))


def test_fit_and_normalise_equal_open_clip_transform(photos):
    from PIL import Image

    transform = _open_clip_transform(64)
    for photo in photos:
        expected = transform(Image.fromarray(photo)).numpy()[None]
        ours = normalise(images.fit(photo, 64, 64, "center_crop"), IMAGE)
        assert ours.shape == expected.shape == (1, 3, 64, 64)
        np.testing.assert_allclose(ours, expected, atol=2e-6)


def test_graph_preprocessing_equals_open_clip_transform(photos):
    """The nodes put in front of a Core ML graph turn 0..255 pixels into what open_clip feeds the model."""
    import onnxruntime as ort
    from PIL import Image

    from pipeline_runner.convert.image_input import preprocessing_model

    session = ort.InferenceSession(preprocessing_model(IMAGE, 64, 64).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    transform = _open_clip_transform(64)
    for photo in photos:
        fitted = images.fit(photo, 64, 64, "center_crop")
        pixels = fitted.astype(np.float32).transpose(2, 0, 1)[None]  # what Core ML's RGB image input hands the program
        (ours,) = session.run(None, {"pixels": pixels})
        np.testing.assert_allclose(ours, transform(Image.fromarray(photo)).numpy()[None], atol=2e-6)


def test_prepend_normalisation_makes_a_graph_take_pixels():
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from pipeline_runner.convert.image_input import prepend_normalisation

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["image"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    graph = GraphSpec("g", "forward", {}, (InputSpec("image", (1, 3, 8, 8), "float32", {}, image=IMAGE),), ())
    with_pixels = prepend_normalisation(model, graph)
    assert [n.op_type for n in with_pixels.graph.node] == ["Mul", "Sub", "Div", "Relu"]
    assert [n.op_type for n in model.graph.node] == ["Relu"]  # the original is untouched
    onnx.checker.check_model(with_pixels, full_check=True)
    pixels = _pictures(1, 8, 8, seed=0)[0]
    run = ort.InferenceSession(with_pixels.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = run.run(None, {"image": pixels.astype(np.float32).transpose(2, 0, 1)[None]})
    np.testing.assert_allclose(out, np.maximum(normalise(pixels, IMAGE), 0), atol=1e-6)


@pytest.mark.parametrize("mode", ["center_crop", "scale_fill", "scale_fit"])
def test_fit_modes_give_the_input_size(photos, mode):
    for photo in photos:
        assert images.fit(photo, 32, 48, mode).shape == (32, 48, 3)


def test_validation_samples_are_fitted_pictures():
    spec = InputSpec("image", (2, 3, 40, 40), "float32", {}, image=IMAGE)
    samples = make_samples([spec], seed=0, count=3)
    again = make_samples([spec], seed=0, count=3)
    for s, t in zip(samples, again, strict=True):
        assert np.array_equal(s.pixels["image"], t.pixels["image"])
        pixels = s.pixels["image"]
        assert pixels.shape == (40, 40, 3) and np.abs(np.diff(pixels.astype(int), axis=0)).mean() < 20
        np.testing.assert_array_equal(s.tensors["image"][:1], normalise(pixels, IMAGE))
        assert s.tensors["image"].shape == (2, 3, 40, 40)
