"""Full-size builds of every shipped recipe (slow): validation passes on Linux with Core ML
numbers from the saved artifacts, and the generated Swift parses and agrees with the specs.

Builds go to $PIPELINE_TEST_BUILD (CI points it at the build it already made, so this
reuses the cache) or to a temporary directory.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from pipeline_runner.cli import main
from pipeline_runner.recipe import load_recipe
from pipeline_runner.swift.spec_reader import read_model_interface
from pipeline_runner.swift.syntax import swift_syntax_errors
from tests.conftest import REPO

RECIPES = sorted((REPO / "pipelines").glob("*.yaml"))


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    env = os.environ.get("PIPELINE_TEST_BUILD")
    return REPO / env if env and not os.path.isabs(env) else (env or tmp_path_factory.mktemp("build"))


@pytest.mark.slow
@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_shipped_recipe_builds_validates_and_has_matching_swift(path, build_root):
    recipe = load_recipe(path)
    assert main([str(path), "--build-dir", str(build_root)]) == 0
    build = build_root / recipe.name
    report = json.loads((build / "validation.json").read_text())
    assert report["passed"] is True
    for graph in recipe.graphs:
        checks = report["graphs"][graph.name]["checks"]
        assert checks["coreml_numerics"]["ran"] is True
        assert checks["coreml_numerics"]["where"] == "linux-reference" or os.uname().sysname == "Darwin"
    swift_files = list((build / "swift").glob("*.swift"))
    for f in swift_files:
        assert swift_syntax_errors(f.read_text()) == [], f
    ios = recipe.ios
    if ios.wrapper != "none":
        source = (build / "swift" / f"{ios.class_name}.swift").read_text()
        interface = json.loads((build / "swift" / "interface.json").read_text())
        resource = re.search(r'static let modelResourceName: String = "(\w+)"', source).group(1)
        # The wrapper loads the model by its app-bundle name; interface.json maps it back to the build.
        by_resource = {name.rsplit(".", 1)[0]: rel for rel, name in interface["bundle_names"].items()}
        artifact = build / by_resource[resource]
        spec = read_model_interface(artifact)
        # a compressed variant (ios.variant) lives at compressed/<graph>/<variant>.mlpackage
        graph_name = artifact.parent.name if artifact.parent.parent.name == "compressed" else artifact.name.rsplit(".", 1)[0]
        assert interface["models"][graph_name]["inputs"][0]["name"] == spec.inputs[0].name
        names = set(re.findall(r'static let \w*[nN]ame: String = "([^"]+)"', source))
        spec_names = {f.name for f in [*spec.inputs, *spec.outputs]}
        assert spec.inputs[0].name in names
        assert names & {o.name for o in spec.outputs}, "the wrapper names none of the model's outputs"
        assert names - {resource} <= spec_names | _other_model_names(interface, by_resource), names
    layers = [op.class_name for op in recipe.custom_ops if op.is_custom_layer]
    assert sorted(f.stem for f in swift_files if f.stem in layers) == sorted(layers)


def _other_model_names(interface, by_resource) -> set[str]:
    """Feature and bundle resource names of the other models and files a wrapper loads
    (e.g. a text encoder, the label embeddings)."""
    names = set(by_resource) | {name for name in interface["bundle_names"].values()}
    for name, model in interface["models"].items():
        names.add(name)
        names |= {f["name"] for f in [*model["inputs"], *model["outputs"]]}
    return names
