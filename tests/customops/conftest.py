"""Tiny custom-op recipes, each run through the whole pipeline once per test session.

Recipes are written into a temporary directory and run with ``run_recipe``; tests
read the artifacts. The ops the test recipes declare live in ``ops_for_tests``.
"""

from __future__ import annotations


import pytest

from tests.customops import ops_for_tests  # noqa: F401  registers pr_tests::* torch ops

MODEL = """\
model:
  source: builtin
  architecture: custom_transformer
  params: {{vocab_size: 50, max_seq_len: 8, dim: 16, depth: {depth}, heads: 2, activation: "{activation}"{extra}}}
inputs:
  - name: input_ids
    shape: [1, 8]
    dtype: int32
    range: [0, 50]
outputs:
  - name: logits
    kind: logits
validate:
  samples: 2
"""

SQUARE_OP = """\
  - name: custom_square
    torch: {op: "pipeline_runner::custom_square"}
    onnx:
      domain: pipeline_runner
      op_type: CustomSquare
      function: "CustomSquare (x) => (y) { y = Mul(x, x) }"
"""

NEURALNETWORK = 'convert: {format: neuralnetwork}\nios: {deployment_target: "13"}\n'
MLPROGRAM = 'convert: {format: mlprogram, precision: fp32}\nios: {deployment_target: "17"}\n'

RECIPES = {
    # the seed's op as a NeuralNetwork custom layer
    "square_layer": dict(depth=2, activation="pipeline_runner::custom_square", format=NEURALNETWORK,
                         ops=SQUARE_OP + "    coreml: {mapping: custom_layer, class_name: CustomSquareLayer}\n"),
    # the same op expanded into Core ML ops in an ML Program
    "square_inline": dict(depth=1, activation="pipeline_runner::custom_square", format=MLPROGRAM,
                          ops=SQUARE_OP + "    coreml: {mapping: inline}\n"),
    # a two-input op, with extra layer parameters
    "gated_layer": dict(depth=2, activation="pr_tests::gated", format=NEURALNETWORK, ops="""\
  - name: gated
    torch: {op: "pr_tests::gated"}
    onnx:
      domain: pr.tests
      op_type: Gated
      function: "Gated (a, b) => (y) { s = Sigmoid(b)  y = Mul(a, s) }"
    coreml:
      mapping: custom_layer
      class_name: GatedLayer
      parameters: {fast: true, variant: v1, tile: 4}
      description: a * sigmoid(b)
"""),
    # an attribute taken from the torch op's float argument
    "scaled_tanh_layer": dict(depth=1, activation="pr_tests::scaled_tanh", extra=", activation_args: {alpha: 0.75}",
                              format=NEURALNETWORK, ops="""\
  - name: scaled_tanh
    torch: {op: "pr_tests::scaled_tanh"}
    onnx:
      domain: pr.tests
      op_type: ScaledTanh
      function: |
        ScaledTanh <alpha> (x) => (y) {
          a = Constant <value_float: float = @alpha> ()
          t = Tanh(x)
          y = Mul(t, a)
        }
    coreml: {mapping: custom_layer, class_name: ScaledTanhLayer}
"""),
    # an attribute set by the recipe (an int for a float attribute), inlined
    "half_tanh_inline": dict(depth=1, activation="pr_tests::half_tanh", format=MLPROGRAM, ops="""\
  - name: half_tanh
    torch: {op: "pr_tests::half_tanh"}
    onnx:
      domain: pr.tests
      op_type: HalfTanh
      attributes: {alpha: 0.5}
      function: |
        HalfTanh <alpha: float = 1.0> (x) => (y) {
          a = Constant <value_float: float = @alpha> ()
          t = Tanh(x)
          y = Mul(t, a)
        }
    coreml: {mapping: inline}
"""),
}


def recipe_text(name: str) -> str:
    spec = RECIPES[name]
    body = MODEL.format(depth=spec["depth"], activation=spec["activation"], extra=spec.get("extra", ""))
    return f"name: {name}\n{body}{spec['format']}custom_ops:\n{spec['ops']}"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """built(name) -> (recipe, build dir, run report): the recipe run once through every stage."""
    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.recipe import load_recipe

    root = tmp_path_factory.mktemp("customops")
    cache: dict = {}

    def build(name: str):
        if name not in cache:
            path = root / f"{name}.yaml"
            path.write_text(recipe_text(name))
            recipe = load_recipe(path)
            report = run_recipe(recipe, root / "build", log=lambda msg: None)
            cache[name] = (recipe, report.build_dir, report)
        return cache[name]

    return build
