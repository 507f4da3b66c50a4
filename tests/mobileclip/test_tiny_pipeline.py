"""The tiny MobileCLIP recipe end to end: Core ML interfaces, classifier labels, app files, validation, caching."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from pipeline_runner.engine.runner import plan, run_recipe
from pipeline_runner.recipe import load_recipe
from tests.mobileclip.common import LABELS, OPENAI_MEAN, OPENAI_STD, TEMPLATES, tiny_recipe


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(recipe path, build dir, report) of one tiny run shared by the tests here."""
    root = tmp_path_factory.mktemp("tiny_clip")
    path = root / "tiny_clip.yaml"
    path.write_text(textwrap.dedent(tiny_recipe()))
    report = run_recipe(load_recipe(path), root / "build", log=lambda msg: None)
    return path, report.build_dir, report


def _spec(build, graph):
    import coremltools as ct

    return ct.utils.load_spec(str(build / "coreml" / f"{graph}.mlpackage"))


def _ops(spec):
    func = spec.mlProgram.functions["main"]
    return list(func.block_specializations[func.opset].operations)


def test_run_passes_validation_with_real_pictures(built):
    _, build, report = built
    assert report.ok, report.error
    summary = json.loads((build / "validation.json").read_text())
    assert summary["passed"] is True and set(summary["graphs"]) == {"image_encoder", "text_encoder", "zero_shot"}
    zero_shot = summary["graphs"]["zero_shot"]["checks"]
    assert zero_shot["onnx_vs_pytorch"]["outputs"]["probabilities"]["top1_agreement"] == 1.0
    coreml = zero_shot["coreml_numerics"]
    assert coreml["ran"] and coreml["outputs"]["probabilities"]["top1_agreement"] == 1.0


@pytest.mark.parametrize("graph", ["image_encoder", "zero_shot"])
def test_image_graphs_take_an_rgb_picture_with_preprocessing_inside(built, graph):
    import coremltools as ct

    _, build, _ = built
    spec = _spec(build, graph)
    (feature,) = spec.description.input
    assert feature.name == "image" and feature.type.WhichOneof("Type") == "imageType"
    image_type = feature.type.imageType
    assert (image_type.width, image_type.height) == (64, 64)
    assert image_type.colorSpace == ct.proto.FeatureTypes_pb2.ImageFeatureType.RGB
    # The program's first real ops take the pixels: * pixel_scale, - mean, / std (std is per channel).
    ops = _ops(spec)
    consts = {op.outputs[0].name: op.attributes["val"] for op in ops if op.type == "const"}
    first = [op for op in ops if op.type != "const"][:3]
    assert [op.type for op in first[:2]] == ["mul", "sub"] and first[2].type in ("real_div", "mul")
    assert first[0].inputs["x"].arguments[0].name == "image"

    def value(op, param):
        tensor = consts[op.inputs[param].arguments[0].name].immediateValue.tensor
        if tensor.floats.values:
            return np.asarray(tensor.floats.values, np.float32)
        return np.frombuffer(tensor.bytes.values, np.float16).astype(np.float32)  # fp16 programs

    np.testing.assert_allclose(value(first[1], "y"), OPENAI_MEAN, rtol=1e-3)
    divisor = value(first[2], "y") if first[2].type == "real_div" else 1 / value(first[2], "y")  # / std or * 1/std
    np.testing.assert_allclose(divisor, OPENAI_STD, rtol=1e-3)
    ct.models.MLModel(str(build / "coreml" / f"{graph}.mlpackage"), skip_model_load=True)  # the package loads


def test_coreml_preprocessing_turns_pixels_into_the_normalised_tensor(built):
    """Checked on the saved model itself, op by op: a randomly initialised MCi tower is almost
    input-independent (cosine ~1 between any two pictures), so output agreement alone would not
    catch a preprocessing mistake."""
    from pipeline_runner.coreml_reference import load_model
    from pipeline_runner.recipe import load_recipe
    from pipeline_runner.samples import make_samples, normalise

    path, build, _ = built
    spec = load_recipe(path).graph("image_encoder").inputs[0]
    model = load_model(str(build / "coreml" / "image_encoder.mlpackage"))
    for sample in make_samples([spec], seed=5, count=3):
        pixels = sample.pixels["image"]
        trace = model.trace({"image": pixels})
        assert [t.type for t in trace[:2]] == ["mul", "sub"]
        np.testing.assert_allclose(trace[2].outputs[0], normalise(pixels, spec.image), atol=1e-5)
        np.testing.assert_allclose(trace[2].outputs[0], sample.tensors["image"], atol=1e-5)


def test_text_encoder_takes_int32_token_ids(built):
    _, build, _ = built
    (feature,) = _spec(build, "text_encoder").description.input
    assert feature.name == "tokens" and feature.type.WhichOneof("Type") == "multiArrayType"
    assert list(feature.type.multiArrayType.shape) == [1, 16]


def test_zero_shot_is_a_classifier_with_the_recipe_labels(built):
    _, build, _ = built
    spec = _spec(build, "zero_shot")
    desc = spec.description
    assert desc.predictedFeatureName == "classLabel"
    assert desc.predictedProbabilitiesName == "classLabel_probs"
    outputs = {o.name: o.type.WhichOneof("Type") for o in desc.output}
    assert outputs == {"classLabel": "stringType", "classLabel_probs": "dictionaryType",
                       "probabilities": "multiArrayType"}
    (classify,) = [op for op in _ops(spec) if op.type == "classify"]
    classes = list(classify.attributes["classes"].immediateValue.list.values) if "classes" in classify.attributes \
        else list(classify.inputs["classes"].arguments[0].value.immediateValue.list.values)
    assert [c.immediateValue.tensor.strings.values[0] for c in classes] == LABELS


def test_label_embeddings_file_matches_the_zero_shot_graph(built):
    import torch

    from pipeline_runner.models.instantiate import entry_module, load_built_model

    path, build, _ = built
    data = json.loads((build / "app" / "label_embeddings.json").read_text())
    assert data["labels"] == LABELS and data["templates"] == TEMPLATES
    recipe = load_recipe(path)
    model = load_built_model(recipe, build / "weights" / "model.safetensors")
    zero_shot = entry_module(recipe, model, recipe.graph("zero_shot"))
    np.testing.assert_allclose(np.asarray(data["embeddings"]), zero_shot.label_embeddings.numpy(), atol=1e-6)
    assert data["logit_scale"] == pytest.approx(float(model.logit_scale.detach().exp()))
    np.testing.assert_allclose(np.linalg.norm(data["embeddings"], axis=1), 1.0, atol=1e-5)
    # An app reproduces the graph's probabilities from an image embedding and this file alone.
    image = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32))
    with torch.no_grad():
        emb = torch.nn.functional.normalize(model.encode_image(image), dim=-1).numpy()
        expected = zero_shot(image).numpy()
    logits = data["logit_scale"] * emb @ np.asarray(data["embeddings"]).T
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_tokenizer_files_and_prompt_test_vectors(built):
    import open_clip

    _, build, _ = built
    tok = build / "app"
    assert (tok / "vocab.json").stat().st_size > 500_000 and (tok / "merges.txt").exists()
    vectors = json.loads((tok / "test_vectors.json").read_text())
    assert vectors["context_length"] == 16
    cases = {c["text"]: c["ids"] for c in vectors["cases"]}
    prompt = TEMPLATES[0].format(LABELS[0])
    assert cases[prompt] == open_clip.tokenize([prompt], context_length=16)[0].tolist()


def test_changing_only_the_labels_reruns_only_the_zero_shot_graph(built):
    path, build, _ = built
    changed = path.read_text().replace(repr(LABELS), repr([*LABELS, "rings"]))
    assert changed != path.read_text()
    other = path.with_name("tiny_clip_more_labels.yaml")
    other.write_text(changed)
    decisions = {d.instance.name: d for d in plan(load_recipe(other), build)}
    reasons = {n: d.reason for n, d in decisions.items()}
    per_graph = {name for name, d in decisions.items() if d.run and d.instance.graph}
    assert per_graph == {"export[zero_shot]", "convert[zero_shot]", "validate[zero_shot]"}, reasons
    assert decisions["app_files"].run and not decisions["build"].run, reasons
    assert "entry_args" in decisions["export[zero_shot]"].reason


def test_app_files_stage_is_skipped_without_text_graphs(write_recipe):
    from pipeline_runner.stages.app_files import applies

    text = tiny_recipe()
    image_only = text[:text.index("  - name: text_encoder")] + text[text.index("convert:"):]
    # an embedding_model wrapper needs the text encoder too (a check says so)
    image_only = image_only.replace("wrapper: embedding_model", "wrapper: none")
    assert not applies(load_recipe(write_recipe(image_only)))
    assert applies(load_recipe(write_recipe(text, "all.yaml")))


def test_classifier_labels_come_from_the_recipe():
    from dataclasses import replace

    from pipeline_runner.convert.classifier import class_labels
    from pipeline_runner.recipe.typed import ClassifierSpec, GraphSpec

    graph = GraphSpec("zs", "zero_shot_classifier", {"labels": ["a", "b"]}, (), (), ClassifierSpec("p"))
    assert class_labels(graph) == ["a", "b"]
    assert class_labels(replace(graph, classifier=ClassifierSpec("p", ("a", "b")))) == ["a", "b"]
    assert class_labels(GraphSpec("plain", "forward", {}, (), ())) is None
    with pytest.raises(ValueError, match="classifier.labels differ from entry_args.labels"):
        class_labels(replace(graph, classifier=ClassifierSpec("p", ("b", "a"))))
    with pytest.raises(ValueError, match="classifier.labels is missing"):
        class_labels(replace(graph, entry_args={}))
