"""Model sources: every registered source has a tiny fixture that builds, and checkpoints load or fail clearly."""

from __future__ import annotations

import pytest
import torch

from pipeline_runner.models.checkpoint import CheckpointError
from pipeline_runner.models.instantiate import create_model
from pipeline_runner.models.registry import source_names
from pipeline_runner.recipe import load_recipe

# One tiny recipe `model` section per registered source; a new source must add one.
TINY_SOURCES = {
    "builtin": ("architecture: vit\n  params: {image_size: 16, patch_size: 8, num_classes: 3, dim: 8, depth: 1, heads: 2}",
                [1, 3, 16, 16]),
    "timm": ("architecture: resnet10t\n  params: {num_classes: 3}", [1, 3, 32, 32]),
    "python": ("architecture: tests.fixtures.tiny_models:tiny_mlp\n  params: {in_features: 8}", [1, 8]),
}


def recipe_text(source: str) -> str:
    model, shape = TINY_SOURCES[source]
    return f"""\
name: tiny_{source}
model:
  source: {source}
  {model}
inputs:
  - name: x
    shape: {shape}
outputs:
  - name: y
"""


def test_every_registered_source_has_a_tiny_fixture():
    missing = set(source_names()) - set(TINY_SOURCES) - {"open_clip", "transformers"}  # tests/mobileclip, tests/hf_models
    assert not missing, f"add a tiny fixture for {sorted(missing)}"


@pytest.mark.parametrize("source", sorted(TINY_SOURCES))
def test_source_builds_reproducibly(source, write_recipe):
    recipe = load_recipe(write_recipe(recipe_text(source)))
    a, b = create_model(recipe), create_model(recipe)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), f"{name} differs between two seeded builds"
    x = torch.randn(*recipe.graphs[0].inputs[0].shape)
    assert torch.isfinite(a(x)).all()


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoint_loads(suffix, write_recipe, tmp_path):
    recipe = load_recipe(write_recipe(recipe_text("python")))
    trained = create_model(recipe)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    ckpt = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(trained.state_dict(), str(ckpt))
    else:
        torch.save({"state_dict": trained.state_dict()}, ckpt)
    loaded = create_model(recipe, ckpt, foreign=True)
    for a, b in zip(loaded.state_dict().values(), trained.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_checkpoint_mismatch_lists_keys(write_recipe, tmp_path):
    recipe = load_recipe(write_recipe(recipe_text("python")))
    state = create_model(recipe).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["2.bias"]
    state["0.weight"] = torch.zeros(3, 3)
    ckpt = tmp_path / "bad.pt"
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError) as info:
        create_model(recipe, ckpt, foreign=True)
    text = str(info.value)
    assert "1 missing keys: 2.bias" in text
    assert "1 unexpected keys: extra.weight" in text
    assert "0.weight: checkpoint (3, 3) vs model (16, 8)" in text


def test_unknown_architecture_is_a_recipe_error(write_recipe):
    """Builtin architectures and params are checked by `check`, with a suggestion."""
    from pipeline_runner.errors import RecipeError

    text = recipe_text("builtin").replace("architecture: vit", "architecture: vitt")
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(text))
    [p] = info.value.problems
    assert p.yaml_path == "model.architecture" and p.hint == "did you mean 'vit'?"


@pytest.mark.parametrize("source, old, new, field, message", [
    ("timm", "architecture: resnet10t", "architecture: resnet10", "model.architecture", "timm has no architecture"),
    ("timm", "num_classes: 3", "num_clases: 3", "model.params.num_clases", "the model does not take parameter"),
    ("python", "tiny_mlp", "tiny_mpl", "model.architecture", "tests.fixtures.tiny_models has no factory 'tiny_mpl'"),
    ("python", "in_features: 8", "in_featres: 8", "model.params.in_featres", "unknown parameter"),
])
def test_sources_that_need_their_library_report_located_errors_at_build(source, old, new, field, message,
                                                                        write_recipe, run_cli):
    path = write_recipe(recipe_text(source).replace(old, new))
    code, out, err = run_cli(path)
    assert code == 2, out + err
    assert f"{field}: {message}" in err and f"{path}:" in err
    assert "Traceback" not in err


def _tiny_mobileone():
    import timm

    # MobileOne blocks fold their branches when reparameterised; small enough for the default suite.
    return timm.create_model("fastvit_t8", pretrained=False, num_classes=3,
                             layers=(1, 1, 1, 1), embed_dims=(8, 16, 32, 64)).eval()


def test_timm_source_reparameterises_and_checks_it(monkeypatch):
    import timm.utils
    from timm.models.fastvit import MobileOneBlock

    from pipeline_runner.models.registry import get_source
    from pipeline_runner.models.reparameterise import ReparameterisationError

    prepare = get_source("timm").prepare_for_export
    module = _tiny_mobileone()
    x = torch.randn(1, 3, 64, 64)
    exported = prepare(module, (x,))
    assert all(b.reparam_conv is not None for b in exported.modules() if isinstance(b, MobileOneBlock))
    with torch.no_grad():
        torch.testing.assert_close(exported(x), module(x), rtol=1e-4, atol=1e-5)

    real = timm.utils.reparameterize_model

    def broken(module, inplace=False):
        out = real(module, inplace)
        with torch.no_grad():
            out.stem[0].reparam_conv.weight.mul_(1.5)
        return out

    monkeypatch.setattr(timm.utils, "reparameterize_model", broken)
    with pytest.raises(ReparameterisationError, match="differs from the original"):
        prepare(module, (x,))
