"""Render the Swift (and Metal) templates in ``pipeline_runner/swift/templates/``.

Templates are ``.swift`` files with Jinja2 markup, so they read like the code they produce
and editors highlight them as Swift. They ship as package data and are read through
``importlib.resources``, so an installed wheel finds them.

Rendering is strict both ways: a value a template uses but the caller did not pass is an
error (``StrictUndefined``), and so is a value the caller passed that no template reads
(catches typos on either side).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

_PACKAGE = "pipeline_runner.swift"


def _load(name: str) -> str:
    return resources.files(_PACKAGE).joinpath("templates", name).read_text(encoding="utf-8")


def swift_string_literal(text: str) -> str:
    """``text`` as a single-line Swift string literal."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def doc_comment(text: str, indent: str = "") -> str:
    """``text`` as ``///`` lines (blank lines kept as bare ``///``)."""
    lines = text.strip("\n").splitlines() or [""]
    return "\n".join(f"{indent}/// {line}".rstrip() for line in lines)


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (_load(name), None, lambda: True)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["swift_string"] = swift_string_literal
    environment.filters["doc"] = doc_comment
    return environment


@lru_cache(maxsize=None)
def template_variables(name: str) -> frozenset[str]:
    """Every variable ``name`` and the templates it includes read."""
    from jinja2 import meta

    environment = _environment()
    tree = environment.parse(_load(name))
    found = set(meta.find_undeclared_variables(tree))
    for included in meta.find_referenced_templates(tree):
        if included is None:
            raise ValueError(f"template {name}: includes must name their template literally")
        found |= template_variables(included)
    return frozenset(found)


def render(name: str, **values: object) -> str:
    """Render template ``name`` with ``values``; every value must be read, every read value given."""
    unused = set(values) - template_variables(name)
    if unused:
        raise KeyError(f"values {sorted(unused)} are not used by the template {name}")
    text = _environment().get_template(name).render(**values)
    # Blocks left empty by a false condition leave runs of blank lines: keep at most one.
    lines, blank = [], 0
    for line in text.splitlines():
        blank = blank + 1 if not line.strip() else 0
        if blank <= 1:
            lines.append(line.rstrip())
    return "\n".join(lines).rstrip("\n") + "\n"
