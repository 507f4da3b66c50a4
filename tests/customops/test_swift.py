"""The swift stage on custom-layer recipes: each layer's Swift class and its Metal kernel file."""

from __future__ import annotations

import json

from pipeline_runner.swift.syntax import swift_syntax_errors


def test_custom_layer_swift_and_metal_are_written(built):
    _, build, _ = built("square_layer")
    swift = (build / "swift" / "CustomSquareLayer.swift").read_text()
    metal = (build / "swift" / "CustomSquareLayerKernel.metal").read_text()
    assert swift_syntax_errors(swift) == []
    assert "kernel void CustomSquareLayerKernel(" in metal and "kernel void CustomSquareLayerKernel(" in swift
    # ios.deployment_target "13": buffer pointers behind #available, dataPointer only before iOS 15.4.
    assert "if #available(iOS 15.4, macOS 12.3, tvOS 15.4, watchOS 8.5, *) {" in swift
    manifest = json.loads((build / "manifest.json").read_text())
    artifacts = manifest["stages"]["swift"]["artifacts"]
    assert "swift/CustomSquareLayerKernel.metal" in json.dumps(artifacts)
