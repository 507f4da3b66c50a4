"""Fixtures for the Core ML reference executor tests: build a MIL program, save it, load it back from disk."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture
def mil_model(tmp_path):
    """mil_model(prog, precision="fp32", target="iOS17", **convert_kwargs) -> ReferenceModel loaded from a saved .mlpackage."""
    import coremltools as ct

    from pipeline_runner.coreml_reference import load_model

    counter = iter(range(1000))

    def build(prog, precision: str = "fp32", **kwargs):
        prec = ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32
        kwargs.setdefault("minimum_deployment_target", ct.target.iOS17)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlmodel = ct.convert(prog, convert_to="mlprogram", compute_precision=prec, **kwargs)
        path = tmp_path / f"m{next(counter)}.mlpackage"
        mlmodel.save(str(path))
        return load_model(path)

    return build


@pytest.fixture
def rng():
    return np.random.default_rng(0)

