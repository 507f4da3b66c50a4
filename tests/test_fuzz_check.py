"""Fuzzing `pipeline-runner check`: mutated recipes give exit 0 or 2 with a message, never a traceback or a hang.

Two hypothesis strategies over the shipped recipes and the tiny test recipe: structural
mutations (a value replaced by any YAML-representable value, a key dropped or added)
and text mutations (YAML syntax a recipe author or an attacker might write: anchors,
aliases, merge keys, tags, control bytes, non-UTF-8 bytes, deep nesting). `check` runs
in-process for speed. Derandomised, so a failure reproduces.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_runner.cli import main
from tests.conftest import REPO, TINY_VIT

BASES = [TINY_VIT] + [p.read_text() for p in sorted((REPO / "pipelines").glob("*.yaml"))]
EXAMPLES = 600  # per strategy: 1,200 cases in the default run
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
exit_codes: list[int] = []

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["", "\n", "tiny\n", "../x", "a" * 300, "fp16", "17", "-1", "0"]),
    st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2030, 1, 1)),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=8)
SNIPPETS = ["<<: *a", "&a ", "*a", "*zz", "!!int ", "!!float ", "!!binary ", "!!set ", "!foo ", "!!python/object:os.system ",
            "{", "}", "[", "]", "- ", ": ", "\t", "\x00", "\x85", "\ufeff", "---\n", "...\n", "? ", "|\n", ">-\n",
            ".nan", ".inf", "-.inf", "1e999", "0x10", "0o17", "2024-01-01", "~", "yes", "null",
            "[" * 40 + "]" * 40, "a: &a [*a]\n", "k: &k {<<: *k}\n"]


def _run_check(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutant.yaml"
        path.write_bytes(raw)
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["check", str(path)])
    text = err.getvalue()
    assert code in (0, 2), text
    assert "Traceback" not in text and "internal error" not in text, text
    exit_codes.append(code)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


@st.composite
def structural_mutants(draw) -> bytes:
    data = yaml.safe_load(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
    return yaml.safe_dump(data, allow_unicode=True).encode()


@st.composite
def text_mutants(draw) -> bytes:
    raw = draw(st.sampled_from(BASES)).encode()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["snippet", "snippet", "bytes", "cut"]))
        if kind == "snippet":
            piece = draw(st.sampled_from(SNIPPETS)).encode()
        elif kind == "bytes":
            piece = draw(st.binary(min_size=1, max_size=4))
        else:
            piece = b""
            raw = raw[:at] + raw[at + draw(st.integers(1, 40)):]
        raw = raw[:at] + piece + raw[at:]
    return raw


@SETTINGS
@given(structural_mutants())
def test_structural_mutants(raw):
    _run_check(raw)


@SETTINGS
@given(text_mutants())
def test_text_mutants(raw):
    _run_check(raw)


def test_the_fuzzing_reached_both_outcomes():
    """Not vacuous: most mutants are invalid (exit 2); the corpus ran in this session."""
    if len(exit_codes) < 2 * EXAMPLES:
        import pytest

        pytest.skip("run together with the two fuzz tests")
    assert exit_codes.count(2) > len(exit_codes) / 2
