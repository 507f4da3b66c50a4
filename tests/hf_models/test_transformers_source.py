"""`model.source: transformers`: tiny random-weight models through the whole runner, both exporters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.hf_models.test_checkpoint_mapping import TINY_BERT

EMBEDDER = f"""\
name: tiny_embedder
model:
  source: transformers
  architecture: BertModel
  params: {json.dumps(TINY_BERT)}
graphs:
  - name: text
    entry: embedding
    entry_args: {{pooling: mean, normalize: l2}}
    inputs:
      - {{name: input_ids, shape: [1, 12], dtype: int32, range: [0, 50], dynamic_axes: {{1: tokens}}}}
      - {{name: attention_mask, shape: [1, 12], dtype: int32, range: [1, 2], dynamic_axes: {{1: tokens}}}}
    outputs:
      - {{name: embedding, kind: embedding}}
validate:
  samples: 2
"""


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_embedder_builds_and_matches(write_recipe, run_cli, tmp_path, exporter):
    # The output is called `embedding`, as the dynamo exporter also names BERT's word-embedding lookup.
    path = write_recipe(EMBEDDER + f"export: {{exporter: {exporter}}}\n")
    code, out, err = run_cli(path)
    assert code == 0, out + err
    build = tmp_path / "build" / "tiny_embedder"
    manifest = json.loads((build / "manifest.json").read_text())
    folding = manifest["stages"]["convert[text]"]["info"]["folding"]
    assert folding["nodes_after"] < folding["nodes_before"], folding
    report = json.loads((build / "validation" / "text.json").read_text())
    coreml = report["checks"]["coreml_numerics"]["outputs"]["embedding"]
    assert coreml["passed"] and coreml["cosine_similarity"] > 0.999, coreml

    import coremltools as ct

    spec = ct.utils.load_spec(str(build / "coreml" / "text.mlpackage"))
    dtypes = {f.name: f.type.multiArrayType.dataType for f in spec.description.input}
    assert set(dtypes.values()) == {ct.proto.FeatureTypes_pb2.ArrayFeatureType.INT32}, dtypes


def test_folding_removes_the_shape_arithmetic(write_recipe, run_cli, tmp_path):
    path = write_recipe(EMBEDDER)
    code, out, err = run_cli(path)
    assert code == 0, out + err
    manifest = json.loads((tmp_path / "build" / "tiny_embedder" / "manifest.json").read_text())
    folding = manifest["stages"]["convert[text]"]["info"]["folding"]
    histogram = manifest["stages"]["export[text]"]["info"]["op_histogram"]
    assert histogram.get("Range") and folding["removed"].get("Range") == histogram["Range"], (histogram, folding)
    assert folding["removed"].get("Shape") == histogram["Shape"], folding


def test_pooling_choices_and_errors():
    import torch

    from pipeline_runner.models.transformers_entries import embedding
    from pipeline_runner.models.transformers_source import SOURCES

    model = SOURCES["transformers"].create("BertModel", TINY_BERT).eval()
    ids = torch.randint(0, 50, (2, 6), dtype=torch.int32)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.int32)
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    with torch.no_grad():
        mean = embedding(model, pooling="mean", normalize="none")(ids, mask)
        cls = embedding(model, pooling="cls", normalize="l2")(ids, mask)
    np.testing.assert_allclose(mean[0].numpy(), hidden[0, :4].mean(0).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(torch.linalg.norm(cls, dim=-1).numpy(), [1.0, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="entry_args.pooling: 'avg' is not one of mean, cls"):
        embedding(model, pooling="avg")


def test_unknown_class_and_bad_config_are_explained():
    from pipeline_runner.models.transformers_source import SOURCES

    create = SOURCES["transformers"].create
    with pytest.raises(ValueError, match="transformers has no model class 'BertModle'; did you mean BertModel"):
        create("BertModle", {})
    with pytest.raises(ValueError, match="model.params: not a valid BertConfig"):
        create("BertModel", {"hidden_size": 30, "num_attention_heads": 4})
