"""model.checkpoint key mapping (strip_prefix, add_prefix, ignore_keys) and model directories."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from pipeline_runner.models.checkpoint import CheckpointError, CheckpointSpec, checkpoint_spec, map_keys
from pipeline_runner.models.instantiate import create_model
from pipeline_runner.recipe import load_recipe

TINY_BERT = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
             "vocab_size": 50, "max_position_embeddings": 32}


def bert_recipe(checkpoint: str = "", params: dict | None = TINY_BERT) -> str:
    params_line = f"  params: {json.dumps(params)}\n" if params else ""
    return f"""\
name: tiny_bert
model:
  source: transformers
  architecture: BertModel
{params_line}{checkpoint}graphs:
  - name: text
    entry: embedding
    inputs:
      - {{name: input_ids, shape: [1, 8], dtype: int32, range: [0, 50]}}
    outputs:
      - {{name: embedding, kind: embedding}}
"""


def test_map_keys():
    state = {"bert.a": 1, "bert.pooler.w": 2, "other": 3, "bert.embeddings.position_ids": 4}
    spec = CheckpointSpec(path=None, strip_prefix="bert.", add_prefix="m.",
                          ignore_keys=("pooler.*", "*.position_ids"))
    mapped, ignored = map_keys(state, spec)
    assert mapped == {"m.a": 1, "m.other": 3}
    assert ignored == ["bert.embeddings.position_ids", "bert.pooler.w"]


def test_map_keys_refuses_collisions():
    with pytest.raises(CheckpointError, match="collide"):
        map_keys({"bert.a": 1, "a": 2}, CheckpointSpec(path=None, strip_prefix="bert."))


def _wrapper_checkpoint(recipe, tmp_path):
    """A checkpoint as a task wrapper saves it: keys under bert.*, plus a classifier head the model lacks."""
    trained = create_model(recipe)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)
    state = {f"bert.{k}": v.contiguous() for k, v in trained.state_dict().items()}
    state["classifier.weight"] = torch.zeros(2, 16)
    save_file(state, str(tmp_path / "wrapped.safetensors"))
    return trained


def test_wrapper_checkpoint_loads_with_mapping(write_recipe, tmp_path):
    plain = load_recipe(write_recipe(bert_recipe(), "plain.yaml"))
    trained = _wrapper_checkpoint(plain, tmp_path)
    mapping = ("  checkpoint:\n    path: wrapped.safetensors\n    strip_prefix: bert.\n"
               "    ignore_keys: ['classifier.*']\n")
    recipe = load_recipe(write_recipe(bert_recipe(mapping), "mapped.yaml"))
    loaded = create_model(recipe, checkpoint_spec(recipe), foreign=True)
    assert loaded.ignored_checkpoint_keys == ["classifier.weight"]
    for (name, a), b in zip(loaded.state_dict().items(), trained.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_unmatched_keys_are_still_listed(write_recipe, tmp_path):
    plain = load_recipe(write_recipe(bert_recipe(), "plain.yaml"))
    _wrapper_checkpoint(plain, tmp_path)
    mapping = "  checkpoint:\n    path: wrapped.safetensors\n    strip_prefix: bert.\n"
    recipe = load_recipe(write_recipe(bert_recipe(mapping), "mapped.yaml"))
    with pytest.raises(CheckpointError, match="1 unexpected keys: classifier.weight"):
        create_model(recipe, checkpoint_spec(recipe), foreign=True)


def test_model_directory_gives_config_and_weights(write_recipe, tmp_path):
    source = load_recipe(write_recipe(bert_recipe(params={**TINY_BERT, "hidden_act": "relu"}), "source.yaml"))
    trained = create_model(source)
    folder = tmp_path / "my-bert"
    folder.mkdir()
    trained.config.to_json_file(str(folder / "config.json"))
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(folder / "model.safetensors"))
    recipe = load_recipe(write_recipe(bert_recipe("  checkpoint: my-bert\n", params=None), "dir.yaml"))
    loaded = create_model(recipe, checkpoint_spec(recipe), foreign=True)
    assert loaded.config.hidden_act == "relu" and loaded.config.hidden_size == 16
    for a, b in zip(loaded.state_dict().values(), trained.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert {p.name for p in checkpoint_spec(recipe).files()} == {"model.safetensors", "config.json"}


def test_checkpoint_forms_are_checked(write_recipe, run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    path = write_recipe(bert_recipe("  checkpoint: empty\n"))
    code, _, err = run_cli("check", path)
    assert code == 2 and "model.checkpoint" in err and "holds no weights file" in err, err
    path = write_recipe(bert_recipe("  checkpoint: {path: w.safetensors, strip_prefx: bert.}\n"))
    code, _, err = run_cli("check", path)
    assert code == 2 and "model.checkpoint" in err, err
