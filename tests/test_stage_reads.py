"""Every recipe field a stage reads is in its cache key.

Each stage runs on tiny recipes with the typed recipe (and the stage's graph) wrapped
in a recorder that logs every field read; each read must be covered by a path the
stage declares in ``reads=`` or by one its upstream stages declare (their keys are
part of its key).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types

import pytest

from tests.conftest import TINY_VIT
from tests.customops import ops_for_tests  # noqa: F401  registers the test recipes' torch ops
from tests.customops.conftest import recipe_text as custom_op_recipe
from tests.mobileclip.common import tiny_recipe as tiny_clip_recipe


def _zero_shot_only(text: str) -> str:
    """The tiny CLIP recipe with only its zero-shot graph (app files, classifier, a third of the work)."""
    start, end = text.index("  - name: image_encoder"), text.index("  - name: zero_shot")
    return text[:start] + text[end:].replace("wrapper: embedding_model", "wrapper: image_classifier")

# Fields that name the recipe rather than configure a stage: the build directory is
# build/<name>/, and the recipe hash and file are provenance stamped into artifacts.
IDENTITY = {"name", "sha256", "path", "doc"}
# Reads that cannot change a stage's result, each with the reason.
NOT_IN_KEY = {
    # BatchNorm calibration builds each graph's entry module to run inputs through it; an entry's
    # arguments (a zero-shot classifier's labels) do not reach the model's BatchNorm layers, and
    # putting them in the build key would rebuild everything when a label changes.
    ("build", "graphs.entry_args"),
}


class Recorder:
    """Stands in for a frozen recipe value: logs the dotted path of every field read.

    Properties and methods of the value run with the recorder as ``self``, so the
    fields they read are logged too; ``dataclasses.replace`` and ``isinstance`` still work.
    """

    def __init__(self, target, path: str, log: set):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_log", log)

    @property
    def __class__(self):
        return type(self._target)

    @property
    def __dataclass_fields__(self):
        return self._target.__dataclass_fields__

    def __getattr__(self, name):
        target, path = self._target, self._path
        attr = inspect.getattr_static(type(target), name, None)
        if isinstance(attr, property):
            return attr.fget(self)
        if isinstance(attr, functools.cached_property):
            return attr.func(self)
        if inspect.isfunction(attr):
            return types.MethodType(attr, self)
        return _wrap(getattr(target, name), f"{path}.{name}" if path else name, self._log)

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(name)


def _wrap(value, path: str, log: set):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return Recorder(value, path, log)
    if isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
        return tuple(Recorder(v, path, log) for v in value)
    log.add(path)
    return value


def _covered(path: str, declared: set[str]) -> bool:
    return path.split(".")[0] in IDENTITY or any(path == d or path.startswith(d + ".") for d in declared)


def _allowed_reads(stage, stages) -> set[str]:
    """The stage's reads and those of every stage it consumes, directly or not."""
    allowed, todo = set(), [stage.name]
    while todo:
        s = stages[todo.pop()]
        allowed |= {r.replace("[]", "") for r in s.reads}  # graphs[].inputs: that field of every graph
        if s.per_graph and "graph" in s.reads:
            allowed.add("graphs")  # all instances of a per-graph stage together read every graph
        todo += list(s.needs)
    if stage.per_graph:
        allowed.discard("graphs")  # one instance sees only its own graph
        allowed |= {r.replace("[]", "") for r in stage.reads}
    return allowed


@pytest.fixture
def recording(monkeypatch):
    """{stage name: set of dotted paths it read} while the fixture is active."""
    from pipeline_runner.engine.worker import WORKER_ENV
    from pipeline_runner.stages import STAGES

    # Stages run in the runner's process, so the reads they log reach these sets (a forked
    # worker would log them into its own copy).
    monkeypatch.setenv(WORKER_ENV, "in-process")

    reads: dict[str, set] = {name: set() for name in STAGES}
    for name, stage in list(STAGES.items()):
        log = reads[name]

        def run(ctx, _stage=stage, _log=log):
            graph = Recorder(ctx.graph, "graph", _log) if ctx.graph is not None else None
            return _stage.run(dataclasses.replace(ctx, recipe=Recorder(ctx.recipe, "", _log), graph=graph))

        def applies(recipe, _stage=stage, _log=log):
            return _stage.applies(Recorder(recipe, "", _log))

        def files(recipe, _stage=stage, _log=log):
            return _stage.reads_files(Recorder(recipe, "", _log))

        monkeypatch.setitem(STAGES, name, dataclasses.replace(
            stage, run=run, applies=applies, reads_files=files if stage.reads_files else None))
    return reads


RECIPES = {
    "tiny_vit": TINY_VIT,
    "square_layer": custom_op_recipe("square_layer"),
    "tiny_clip": _zero_shot_only(tiny_clip_recipe()),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_field_a_stage_reads_is_in_its_key(name, recording, tmp_path):
    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.recipe import load_recipe
    from pipeline_runner.stages import STAGES

    text = RECIPES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    report = run_recipe(load_recipe(path), tmp_path / "build", log=lambda msg: None)
    assert report.ok, report.error
    ran = {name for name, paths in recording.items() if paths}
    assert {"build", "export", "convert", "validate", "swift"} <= ran
    for stage_name, paths in recording.items():
        allowed = _allowed_reads(STAGES[stage_name], STAGES)
        undeclared = sorted(p for p in paths if not _covered(p, allowed) and (stage_name, p) not in NOT_IN_KEY)
        assert not undeclared, f"stage {stage_name} reads {undeclared} but declares only {sorted(allowed)}"


def test_the_recorder_sees_reads_through_properties_and_methods():
    from pipeline_runner.recipe.typed import ConvertSpec, MetadataSpec

    log: set = set()
    convert = ConvertSpec("mlprogram", "fp16", "all", (), MetadataSpec("", "", "", "", {}, {}))
    recorded = Recorder(convert, "convert", log)
    assert recorded.effective_precision == "fp16" and isinstance(recorded, ConvertSpec)
    assert log == {"convert.format", "convert.precision"}
    assert not _covered("convert.precision", {"convert.format"})
    assert _covered("convert.metadata.author", {"convert"})
