"""An op no lowering covers: the error names op, nodes, layer and convert.lowerings; a recipe lowering fixes it."""

from __future__ import annotations

RECIPE = """\
name: det
model:
  source: python
  architecture: tests.convert.det_model:make
inputs:
  - {name: x, shape: [3, 2, 2]}
outputs:
  - {name: y}
validate:
  samples: 1
convert:
  precision: fp32
"""


def test_missing_op_error_then_recipe_lowering(write_recipe, run_cli, tmp_path):
    path = write_recipe(RECIPE)
    code, out, err = run_cli(path)
    assert code == 1
    assert "Det: 1 node(s) (/head/Det)" in err and "model layer(s): head" in err, err
    assert "convert.lowerings" in err and 'Det: "my_package.my_lowerings:lower_det"' in err, err
    assert "Traceback" not in err and "converter.register" not in err, err
    assert not (tmp_path / "build" / "det" / "coreml").exists()  # nothing half-written

    path = write_recipe(RECIPE + "  lowerings:\n    Det: tests.convert.det_model:lower_det\n")
    code, out, err = run_cli(path)
    assert code == 0, out + err
    assert (tmp_path / "build" / "det" / "coreml" / "det.mlpackage").is_dir()


def test_a_failing_recipe_lowering_is_named_without_traceback(write_recipe, run_cli):
    path = write_recipe(RECIPE + "  lowerings:\n    Det: tests.convert.det_model:make\n")
    code, out, err = run_cli(path)
    assert code == 1
    assert "lowering Det node '/head/Det' in model layer head failed" in err, err
    assert "convert.lowerings.Det: 'tests.convert.det_model:make'" in err and "Traceback" not in err, err


def test_a_lowering_reference_that_does_not_import(write_recipe, run_cli):
    path = write_recipe(RECIPE + "  lowerings:\n    Det: tests.convert.no_such_module:lower\n")
    code, out, err = run_cli(path)
    assert code in (1, 2)
    assert "no_such_module" in err and "Traceback" not in err, err


def test_lowerings_field_is_checked(write_recipe, run_cli):
    path = write_recipe(RECIPE + "  lowerings:\n    Det: not a reference\n")
    code, out, err = run_cli("check", path)
    assert code == 2 and "convert.lowerings" in err, err
