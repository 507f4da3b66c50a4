"""The swift stage: the generated wrapper parses and agrees with the saved Core ML spec."""

from __future__ import annotations

import json
import re

from pipeline_runner.swift.spec_reader import read_model_interface
from pipeline_runner.swift.syntax import swift_syntax_errors


def static_lets(source: str) -> dict[str, str]:
    return dict(re.findall(r"static let (\w+): [^=]+= (.+)", source))


def test_wrapper_parses_and_matches_spec(built):
    _, build = built
    source = (build / "swift" / "TinyViT.swift").read_text()
    assert swift_syntax_errors(source) == []
    spec = read_model_interface(build / "coreml" / "tiny_vit.mlpackage")
    consts = static_lets(source)
    assert json.loads(consts["inputName"]) == spec.inputs[0].name == "image"
    assert json.loads(consts["outputName"]) == spec.outputs[0].name == "logits"
    assert int(consts["inputWidth"]) == spec.inputs[0].image_width == 32
    assert json.loads(consts["outputShape"]) == list(spec.outputs[0].shape) == [1, 10]
    assert "public final class TinyViT" in source
    interface = json.loads((build / "swift" / "interface.json").read_text())
    assert interface["models"]["tiny_vit"]["inputs"][0]["name"] == "image"
    assert interface["bundle_names"] == {"coreml/tiny_vit.mlpackage": "tiny_vit.mlpackage"}


def test_bundle_names_keep_recipes_apart():
    from pipeline_runner.stages.swift import bundle_name

    assert bundle_name("mobileclip", "image_encoder.mlpackage") == "mobileclip_image_encoder.mlpackage"
    assert bundle_name("vit", "vit.mlpackage") == "vit.mlpackage"
    assert bundle_name("mobileclip", "mobileclip_vocab.json") == "mobileclip_vocab.json"
