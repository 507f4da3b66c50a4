"""Read a YAML recipe into plain data plus the line/column of every value.

PyYAML's composed node tree keeps the position of each key and value; we walk it
once to build ``{yaml path tuple: (line, column)}`` so schema and semantic errors
can point into the file. Mapping keys are turned into strings, as in JSON (a recipe
may write ``dynamic_axes: {0: batch}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline_runner.errors import Problem, RecipeError

PathKey = tuple  # of str (mapping keys) and int (sequence indices)


@dataclass
class YamlDocument:
    file: str
    data: object
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: PathKey, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line/column of the value at ``path`` (or of its key), else of its nearest parent."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: PathKey, message: str, hint: str | None = None, *, key: bool = False) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.file, format_path(path), line, col, message, hint)


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path) -> YamlDocument:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError([Problem(name, "", None, None, f"cannot read recipe: {exc.strerror}")]) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        msg = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        raise RecipeError(
            [Problem(name, "", line, col, f"YAML syntax error: {msg}" + (f" ({ctx})" if ctx else ""))]
        ) from exc
    doc = YamlDocument(name, None)
    if root is None:
        raise RecipeError([Problem(name, "", 1, 1, "the recipe is empty")])
    problems: list[Problem] = []
    doc.data = _construct(root, (), doc, problems)
    if problems:
        raise RecipeError(problems)
    return doc


def _construct(node: yaml.Node, path: PathKey, doc: YamlDocument, problems: list[Problem]):
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                problems.append(Problem(doc.file, format_path(path), line, col, "mapping keys must be plain scalars"))
                continue
            key = _scalar(key_node)
            key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                problems.append(doc.problem(child, f"duplicate key {key!r}", "a key may appear once", key=True))
            out[key] = _construct(value_node, child, doc, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*path, i), doc, problems) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.ScalarNode):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
