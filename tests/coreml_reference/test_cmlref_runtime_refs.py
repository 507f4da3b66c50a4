"""Expected values taken from coremltools' own op tests (coremltools/converters/mil/mil/ops/tests),
which Apple runs against the Core ML runtime: the closest thing to device ground truth on Linux."""

from __future__ import annotations

import numpy as np
import pytest
from coremltools.converters.mil import Builder as mb


@pytest.mark.parametrize("align_corners, half_pixel_centers, expected", [
    (True, False, [1.0, 1.2, 1.4, 1.6, 1.8, 2.0]),
    (False, True, [1.0, 1.0, 1.33334, 1.66667, 2.0, 2.0]),
    (False, False, [1.0, 1.33334, 1.66667, 2.0, 2.0, 2.0]),
])
def test_upsample_bilinear_ios16(mil_model, align_corners, half_pixel_centers, expected):
    import coremltools as ct

    @mb.program(input_specs=[mb.TensorSpec((1, 1, 1, 2))], opset_version=ct.target.iOS16)
    def prog(x):
        return mb.upsample_bilinear(x=x, scale_factor_height=2, scale_factor_width=3, align_corners=align_corners,
                                    half_pixel_centers=half_pixel_centers, name="y")

    out = mil_model(prog, minimum_deployment_target=ct.target.iOS16).predict({"x": np.array([[[[1, 2]]]], np.float32)})
    np.testing.assert_allclose(out["y"], np.array(expected * 2, np.float32).reshape(1, 1, 2, 6), atol=1e-4)


@pytest.mark.parametrize("mode, expected", [
    ("STRICT_ALIGN_CORNERS", [0, 0.25, 0.5, 0.75, 1]),
    ("DEFAULT", [0, 0.4, 0.8, 1, 1]),
    ("OFFSET_CORNERS", [0.1, 0.3, 0.5, 0.7, 0.9]),
])
def test_resize_bilinear_sampling_modes(mil_model, mode, expected):
    @mb.program(input_specs=[mb.TensorSpec((1, 1, 2))])
    def prog(x):
        return mb.resize_bilinear(x=x, target_size_height=1, target_size_width=5, sampling_mode=mode, name="y")

    out = mil_model(prog).predict({"x": np.array([[[0, 1]]], np.float32)})
    np.testing.assert_allclose(out["y"], np.array(expected, np.float32).reshape(1, 1, 5), atol=1e-6)


def test_resize_nearest_neighbor(mil_model):
    @mb.program(input_specs=[mb.TensorSpec((1, 1, 2, 1))])
    def prog(x):
        return (mb.resize_nearest_neighbor(x=x, target_size_height=2, target_size_width=1, name="same"),
                mb.resize_nearest_neighbor(x=x, target_size_height=2, target_size_width=3, name="wide"))

    x = np.array([0.37, 6.17], np.float32).reshape(1, 1, 2, 1)
    out = mil_model(prog).predict({"x": x})
    np.testing.assert_allclose(out["same"], x)
    np.testing.assert_allclose(out["wide"], np.array([0.37, 0.37, 0.37, 6.17, 6.17, 6.17], np.float32).reshape(1, 1, 2, 3))
