"""The Swift templates: real .swift files shipped as package data, rendered strictly both ways."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from pipeline_runner.swift import render as render_module
from pipeline_runner.swift.render import render, template_variables

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "pipeline_runner" / "swift" / "templates"


def test_templates_are_swift_files_in_the_package_data():
    names = sorted(p.name for p in TEMPLATES.iterdir())
    assert {"image_classifier.swift", "token_model.swift", "embedding_model.swift", "custom_layer.swift",
            "custom_layer_kernel.metal"} <= set(names)
    assert not list(TEMPLATES.glob("*.py"))  # no Swift in Python strings
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["pipeline_runner"]
    for name in names:
        assert any(Path("swift/templates", name).match(pattern) for pattern in patterns), name
    # Read through importlib.resources, as from an installed wheel.
    shipped = resources.files("pipeline_runner.swift").joinpath("templates", "token_model.swift").read_text()
    assert shipped == (TEMPLATES / "token_model.swift").read_text()


def test_missing_value_is_an_error():
    import jinja2

    with pytest.raises(jinja2.UndefinedError, match="class_name"):
        render("custom_layer_shapes.swift")


def test_unused_value_is_an_error():
    with pytest.raises(KeyError, match="clas_name"):
        render("custom_layer_shapes.swift", class_name="X", clas_name="typo")


def test_included_templates_count_as_read():
    variables = template_variables("token_model.swift")
    assert {"imports", "spec_note", "kind"} <= variables  # from wrapper_header.swift
    assert "class_name" in variables


def test_blank_runs_collapse_and_indent_follows_the_hole():
    text = render("custom_layer_cpu_loop.swift", loads="let a = 1\nlet b = 2", statements="", stores="x[index] = a")
    assert text == "for index in 0..<count {\n    let a = 1\n    let b = 2\n\n    x[index] = a\n}\n"


def test_no_template_is_read_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    render_module.template_variables.cache_clear()
    assert "class_name" in template_variables("image_classifier.swift")


def test_a_template_edit_changes_the_swift_stages_code_hash(tmp_path, monkeypatch):
    """The stage's cache key hashes its package's files, templates included, not only .py."""
    from pipeline_runner.engine.cache import code_hash
    from pipeline_runner.stages.swift import STAGE

    assert "pipeline_runner.swift" in STAGE.code
    package = tmp_path / "fake_swift_pkg"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    template = package / "templates" / "wrapper.swift"
    template.write_text("final class {{ class_name }} {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_hash("fake_swift_pkg")
    template.write_text("public final class {{ class_name }} {}\n")
    code_hash.cache_clear()
    assert code_hash("fake_swift_pkg") != before
