"""Read a YAML recipe into plain data plus the line/column of every value.

PyYAML's composed node tree keeps the position of each key and value; we walk it
once to build ``{yaml path tuple: (line, column)}`` so schema and semantic errors
can point into the file. Mapping keys are turned into strings, as in JSON (a recipe
may write ``dynamic_axes: {0: batch}``).

Hand-written walk (instead of ``yaml.safe_load``) because it must also survive hostile
input with a located message: bytes that are not UTF-8, nesting or alias expansion
beyond any real recipe (alias bombs, recursive aliases), tags that make values a recipe
cannot hold (dates, binary, sets), numbers that are not finite. Merge keys (``<<:``)
are supported with YAML's rule: the mapping's own keys win over merged ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor

from pipeline_runner.errors import Problem, RecipeError

PathKey = tuple  # of str (mapping keys) and int (sequence indices)

MAX_BYTES = 1 << 20  # a recipe is a few kB; MobileCLIP's with a thousand labels is ~30 kB
MAX_DEPTH = 32  # the deepest shipped recipe nests 6 levels
MAX_VALUES = 100_000  # values after alias and merge expansion
MAX_INT = 2**63

_STR, _INT, _FLOAT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null"))
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL}
_MAP, _SEQ, _MERGE = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"
_TAG_ADVICE = {
    "tag:yaml.org,2002:timestamp": "a date or time; quote it if you meant a string",
    "tag:yaml.org,2002:binary": "binary data",
    "tag:yaml.org,2002:set": "a set; write a list",
    "tag:yaml.org,2002:omap": "an ordered mapping; write a plain mapping",
    "tag:yaml.org,2002:pairs": "a list of pairs; write a plain mapping",
}


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


def has_control_characters(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def load_yaml(path: Path) -> YamlDocument:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecipeError([Problem(name, "", None, None, f"the file is {size:,} bytes; a recipe is at most "
                                                             f"{MAX_BYTES:,}", "is this the right file?")])
        raw = path.read_bytes()
    except OSError as exc:
        raise RecipeError([Problem(name, "", None, None, f"cannot read recipe: {exc.strerror or exc}")]) from exc
    return parse_yaml(raw, name)


def parse_yaml(raw: bytes, name: str) -> YamlDocument:
    """``raw`` (a recipe file's bytes) as a located document; any problem raises RecipeError."""
    text = _decode(raw, name)
    root = _compose(text, name)
    if root is None:
        raise RecipeError([Problem(name, "", 1, 1, "the recipe is empty")])
    doc = YamlDocument(name, None)
    builder = _Builder(doc)
    doc.data = builder.build(root, ())
    if builder.problems:
        raise RecipeError(builder.problems)
    return doc


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecipeError([Problem(
            name, "", line, column,
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start}",
            "save the recipe as UTF-8")]) from None


def _compose(text: str, name: str) -> yaml.Node | None:
    try:
        _check_depth(text, name)  # the composer is recursive: deep nesting must not reach it
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise RecipeError([_syntax_problem(exc, name)]) from None


def _check_depth(text: str, name: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise RecipeError([Problem(name, "", mark.line + 1, mark.column + 1,
                                           f"nesting deeper than {MAX_DEPTH} levels", "no recipe nests this deep")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _syntax_problem(exc: yaml.YAMLError, name: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        return Problem(name, "", None, None, f"YAML cannot read character {exc.character!r} "
                                             f"(offset {exc.position})", "remove control characters from the file")
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    msg = getattr(exc, "problem", None) or str(exc)
    ctx = getattr(exc, "context", None)
    return Problem(name, "", line, col, f"YAML syntax error: {msg}" + (f" ({ctx})" if ctx else ""))


class _Builder:
    """Composed nodes → plain data, positions and problems, within the depth and size limits."""

    def __init__(self, doc: YamlDocument):
        self.doc, self.problems, self.values = doc, [], 0
        self.constructor = SafeConstructor()

    def at(self, node: yaml.Node, path: PathKey, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.doc.file, format_path(path), node.start_mark.line + 1,
                                     node.start_mark.column + 1, message, hint))

    def build(self, node: yaml.Node, path: PathKey):
        self.values += 1
        if self.values > MAX_VALUES or len(path) > MAX_DEPTH:
            if self.values > MAX_VALUES:
                message = f"the recipe expands to more than {MAX_VALUES:,} values (aliases repeating aliases?)"
            else:
                message = f"nesting deeper than {MAX_DEPTH} levels (an alias that contains itself?)"
            self.at(node, path, message)
            raise RecipeError(self.problems)  # stop: going on would only repeat this
        self.doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self.bad_tag(node, path)
            return [self.build(v, (*path, i)) for i, v in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: PathKey) -> dict | None:
        if node.tag != _MAP:
            return self.bad_tag(node, path)
        merged: dict = {}
        for key_node, value_node in self.merge_sources(node, path, 0):
            key = self.key(key_node, path)
            if key is not None and key not in merged:  # earlier merge sources win (YAML merge rule)
                merged[key] = value_node
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            self.doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                self.problems.append(self.doc.problem(child, f"duplicate key {key!r}", "a key may appear once", key=True))
            out[key] = self.build(value_node, child)
            merged.pop(key, None)  # the mapping's own keys override merged ones
        for key, value_node in merged.items():
            out[key] = self.build(value_node, (*path, key))
        return out

    def merge_sources(self, node: yaml.MappingNode, path: PathKey, depth: int) -> list:
        """The (key, value) node pairs merged into ``node`` by its ``<<`` keys, nested merges included."""
        pairs = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    self.at(src, path, "`<<` merges a mapping or a list of mappings", "e.g. `<<: *defaults`")
                elif depth >= MAX_DEPTH:
                    self.at(src, path, "merges nested too deep (a merge that includes itself?)")
                    raise RecipeError(self.problems)
                else:
                    pairs += self.merge_sources(src, path, depth + 1)
                    pairs += [(k, v) for k, v in src.value if k.tag != _MERGE]
                    self.values += len(src.value)
                    if self.values > MAX_VALUES:
                        self.at(src, path, f"the recipe expands to more than {MAX_VALUES:,} values")
                        raise RecipeError(self.problems)
        return pairs

    def key(self, key_node: yaml.Node, path: PathKey) -> str | None:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
            self.at(key_node, path, "mapping keys must be plain scalars")
            return None
        key = self.scalar(key_node, path)
        return str(key).lower() if isinstance(key, bool) else str(key)

    def scalar(self, node: yaml.ScalarNode, path: PathKey):
        if node.tag not in _SCALAR_TAGS:
            return self.bad_tag(node, path)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:  # `!!int x`, an int beyond Python's digit limit
            problem = getattr(exc, "problem", None) or str(exc)
            self.at(node, path, f"cannot read {node.value[:40]!r} as {node.tag.rsplit(':', 1)[-1]}: {problem}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.at(node, path, f"expected a finite number, got {value}", "write a finite number")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
            self.at(node, path, f"the integer {node.value[:40]} is too large", "at most 2**63 - 1")
        return value

    def bad_tag(self, node: yaml.Node, path: PathKey):
        what = _TAG_ADVICE.get(node.tag, f"tag {node.tag!r}")
        self.at(node, path, f"a recipe cannot hold {what}", "recipes hold strings, numbers, booleans, lists and mappings")
        return None
