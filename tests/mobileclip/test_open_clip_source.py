"""The open_clip model source on a tiny MobileCLIP: entries, reparameterisation, checkpoints."""

from __future__ import annotations

import pytest
import torch

from pipeline_runner.models.checkpoint import CheckpointError
from pipeline_runner.models.instantiate import create_model
from pipeline_runner.models.open_clip_source import SOURCES
from pipeline_runner.models.reparameterise import ReparameterisationError
from pipeline_runner.recipe import load_recipe
from tests.mobileclip.common import LABELS, TEMPLATES, tiny_model, tiny_recipe

SOURCE = SOURCES["open_clip"]


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_tiny_model_is_a_mobileclip_on_the_real_code_path(model):
    from timm.models.fastvit import FastVit, RepConditionalPosEnc

    trunk = model.visual.trunk
    assert isinstance(trunk, FastVit)
    assert [len(stage.blocks) for stage in trunk.stages] == [1, 1, 1, 1]
    assert any(isinstance(m, RepConditionalPosEnc) for m in trunk.modules())  # the MCi attention stage
    assert model.text.width == 32 and len(model.text.transformer.resblocks) == 1
    assert sum(p.numel() for p in model.parameters()) < 3_000_000


def test_unknown_architecture_names_the_field():
    from pipeline_runner.errors import ModelSpecError

    with pytest.raises(ModelSpecError, match=r"model.architecture: open_clip has no model 'MobileCLIP2-S9'") as info:
        SOURCE.create("MobileCLIP2-S9", {})
    assert "MobileCLIP2-S" in info.value.problems[0].hint


def test_encoders_return_unit_vectors(model):
    image = SOURCE.entries["image_encoder"](model)
    text = SOURCE.entries["text_encoder"](model)
    with torch.no_grad():
        img = image(torch.randn(2, 3, 64, 64))
        txt = text(torch.randint(0, 49408, (2, 16), dtype=torch.int32))
    assert img.shape == (2, 16) and txt.shape == (2, 16)
    torch.testing.assert_close(img.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(txt.norm(dim=-1), torch.ones(2))
    # int32 ids are cast to long inside: same result as open_clip's own long path
    ids = torch.randint(0, 49408, (1, 16))
    with torch.no_grad():
        ref = model.encode_text(ids, normalize=True)
        torch.testing.assert_close(text(ids.to(torch.int32)), ref)


def test_zero_shot_is_softmax_of_scaled_cosine_with_mean_prompt_embeddings(model):
    import open_clip

    zs = SOURCE.entries["zero_shot_classifier"](model, labels=LABELS, templates=TEMPLATES)
    image = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        probs = zs(image)
        # Independently: tokenise every prompt, embed, average per label, renormalise.
        rows = []
        for label in LABELS:
            tokens = open_clip.tokenize([t.format(label) for t in TEMPLATES], context_length=16)
            e = torch.nn.functional.normalize(model.encode_text(tokens), dim=-1).mean(0)
            rows.append(e / e.norm())
        labels = torch.stack(rows)
        f = torch.nn.functional.normalize(model.encode_image(image), dim=-1)
        expected = (model.logit_scale.exp() * f @ labels.T).softmax(-1)
    torch.testing.assert_close(zs.label_embeddings, labels)
    torch.testing.assert_close(probs, expected)
    assert probs.shape == (1, len(LABELS)) and abs(float(probs.sum()) - 1) < 1e-5


def test_zero_shot_rejects_templates_without_placeholder(model):
    with pytest.raises(ValueError, match="entry_args.templates"):
        SOURCE.entries["zero_shot_classifier"](model, labels=LABELS, templates=["a photo"])


@pytest.mark.parametrize("entry", ["image_encoder", "text_encoder", "zero_shot_classifier"])
def test_reparameterised_equals_original(model, entry):
    from timm.models.fastvit import MobileOneBlock

    args = {"labels": LABELS, "templates": TEMPLATES} if entry == "zero_shot_classifier" else {}
    module = SOURCE.entries[entry](model, **args).eval()
    exported = SOURCE.prepare_for_export(module)
    blocks = [m for m in exported.modules() if isinstance(m, MobileOneBlock)]
    assert blocks and all(b.reparam_conv is not None for b in blocks)  # really reparameterised
    torch.manual_seed(1)
    inputs = module.example_inputs()
    with torch.no_grad():
        torch.testing.assert_close(exported(*inputs), module(*inputs), rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, MobileOneBlock) and m.reparam_conv is not None for m in model.modules())


def test_a_reparameterisation_that_changes_outputs_is_refused(model, monkeypatch):
    import timm.utils

    real = timm.utils.reparameterize_model

    def broken(module, inplace=False):
        out = real(module, inplace)
        with torch.no_grad():
            out.clip.visual.trunk.stem[0].reparam_conv.weight.mul_(1.5)
        return out

    monkeypatch.setattr(timm.utils, "reparameterize_model", broken)
    with pytest.raises(ReparameterisationError, match="reparameterised model differs from the original"):
        SOURCE.prepare_for_export(SOURCE.entries["image_encoder"](model))


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_checkpoint_is_loaded_through_model_checkpoint(write_recipe, tmp_path, fmt):
    trained = tiny_model(seed=123)
    ckpt = tmp_path / f"tiny.{fmt}"
    if fmt == "pt":  # an open_clip training checkpoint: {"epoch", "state_dict": {"module.": ...}}
        torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()}}, ckpt)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(ckpt))
    recipe = load_recipe(write_recipe(tiny_recipe(checkpoint=ckpt.name)))
    built = create_model(recipe, recipe.checkpoint_path(), foreign=True)
    state = built.state_dict()
    assert state.keys() == trained.state_dict().keys()
    for key, value in trained.state_dict().items():
        assert torch.equal(state[key], value), key
    seeded = tiny_model(seed=0).state_dict()  # what the build makes without a checkpoint
    assert not torch.equal(seeded["text.token_embedding.weight"], state["text.token_embedding.weight"])

def test_checkpoint_of_another_variant_names_the_mismatch(write_recipe, tmp_path):
    other = {"embed_dim": 16,
             "vision_cfg": {"image_size": 64, "timm_model_kwargs": {"layers": [1, 1, 2, 1], "embed_dims": [8, 16, 32, 96]}},
             "text_cfg": {"width": 32, "heads": 2, "layers": 1, "context_length": 16}}
    ckpt = tmp_path / "other.pt"
    torch.save(tiny_model(other).state_dict(), ckpt)
    recipe = load_recipe(write_recipe(tiny_recipe(checkpoint=ckpt.name)))
    with pytest.raises(CheckpointError) as err:
        create_model(recipe, recipe.checkpoint_path(), foreign=True)
    text = str(err.value)
    assert "does not match the model" in text and str(ckpt) in text
    assert "unexpected keys: visual.trunk.stages.2.blocks.1" in text  # the extra block of the other variant
    assert "shape mismatches" in text and "vs model (" in text  # the wider last stage, shape by shape


def test_apple_checkpoint_layout_goes_through_open_clips_converter(monkeypatch):
    """Apple's ml-mobileclip checkpoints (image_encoder.model.*, text_encoder.*) are converted the way
    open_clip.create_model(pretrained=PATH) converts them; here with a stand-in converter."""
    import open_clip.convert

    seen = {}

    def fake_convert(model, state):
        seen["model"], seen["keys"] = model, sorted(state)
        return {"logit_scale": torch.ones(1) * 2.0, "positional_embedding": torch.zeros(3, 4), "text_projection": torch.zeros(4, 2),
                "text.transformer.embeddings.position_ids": torch.arange(3)}

    monkeypatch.setattr(open_clip.convert, "convert_state_dict", fake_convert)
    apple = {"image_encoder.model.patch_embed.0.rbr_conv.0.conv.weight": torch.zeros(1),
             "text_encoder.embedding_layer.weight": torch.zeros(1), "logit_scale": torch.ones(1)}
    out = SOURCE.adapt_state_dict(apple, "MobileCLIP-S1")
    assert seen["keys"] == sorted(apple)
    assert type(seen["model"].visual.trunk).__name__ == "FastVit"  # a skeleton of the recipe's architecture
    # then the old-layout fixes open_clip's loader applies: text.* prefix, scalar logit_scale, no position_ids
    assert set(out) == {"logit_scale", "text.positional_embedding", "text.text_projection"}
    assert out["logit_scale"].ndim == 0


def test_open_clip_layout_passes_through_unchanged(model):
    state = model.state_dict()
    out = SOURCE.adapt_state_dict(dict(state), "MobileCLIP2-S0")
    assert out.keys() == state.keys() and all(out[k] is state[k] for k in state)
