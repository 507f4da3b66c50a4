"""Engine pieces on their own: stage ordering, key explanations, artifact fingerprints, the stage registry."""

from __future__ import annotations

import pytest

from pipeline_runner.engine.cache import artifact_state, explain_change, fingerprint
from pipeline_runner.engine.stage import Stage, order_stages
from pipeline_runner.stages import STAGES


def _stage(name, needs=()):
    return Stage(name=name, version=1, run=lambda ctx: None, needs=tuple(needs))


def test_order_follows_needs_not_registration():
    stages = {"c": _stage("c", ["b"]), "a": _stage("a"), "b": _stage("b", ["a"])}
    assert [s.name for s in order_stages(stages)] == ["a", "b", "c"]


def test_cycles_and_unknown_needs_are_errors():
    with pytest.raises(RuntimeError, match="cycle: a -> b -> a"):
        order_stages({"a": _stage("a", ["b"]), "b": _stage("b", ["a"])})
    with pytest.raises(RuntimeError, match="needs unknown stage 'zz'"):
        order_stages({"a": _stage("a", ["zz"])})


def test_registered_stages_form_the_pipeline():
    names = [s.name for s in order_stages(STAGES)]
    assert names.index("build") < names.index("export") < names.index("convert") < names.index("validate")


def test_ready_stages_keep_the_registry_order():
    stages = {"build": _stage("build"), "export": _stage("export", ["build"]), "files": _stage("files", ["build"]),
              "convert": _stage("convert", ["export"]), "swift": _stage("swift", ["convert"])}
    assert [s.name for s in order_stages(stages)] == ["build", "export", "files", "convert", "swift"]
    moved = {"build": stages["build"], "convert": stages["convert"], "export": stages["export"],
             "swift": stages["swift"], "files": stages["files"]}
    assert [s.name for s in order_stages(moved)] == ["build", "export", "convert", "swift", "files"]


def test_explain_change_names_fields():
    old = {"recipe": {"export": {"opset": 17, "exporter": "torchscript"}}, "upstream": {"build": "a"}, "code": {"m": "1"}}
    new = {"recipe": {"export": {"opset": 18, "exporter": "torchscript"}}, "upstream": {"build": "b"}, "code": {"m": "2"}}
    text = explain_change(old, new)
    assert "export.opset 17 → 18" in text and "build changed" in text and "code of m changed" in text
    assert explain_change(None, new) == "no previous run"


def test_fingerprint_of_directory_and_state(tmp_path):
    pkg = tmp_path / "m.mlpackage"
    (pkg / "Data").mkdir(parents=True)
    (pkg / "Data" / "w.bin").write_bytes(b"abc")
    (pkg / "Manifest.json").write_text("{}")
    recorded = fingerprint(pkg)
    assert recorded["size"] == 5
    assert artifact_state(pkg, recorded) is None
    (pkg / "Data" / "w.bin").write_bytes(b"abd")
    assert artifact_state(pkg, recorded) == "altered"
    assert artifact_state(tmp_path / "nope", recorded) == "missing"
