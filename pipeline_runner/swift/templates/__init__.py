"""Swift / Metal source templates (Python string modules) and a tiny ``{{name}}`` renderer.

Templates are plain Swift with ``{{placeholder}}`` holes, so they read like the code
they produce. Swift's own ``\\(...)`` interpolation and ``$0`` are left alone.
"""

from __future__ import annotations

import re
import textwrap

_HOLE = re.compile(
    r"^(?P<indent>[ \t]*)\{\{(?P<block>\w+)\}\}[ \t]*(?P<newline>\n?)|\{\{(?P<inline>\w+)\}\}", re.MULTILINE
)


def render(template: str, **values: str) -> str:
    """Fill ``{{name}}`` holes; a hole alone on its line is a block, indented like the hole
    (an empty block removes its line).

    Every hole must have a value and every value must be used (catches template typos).
    """
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        name = match.group("block") or match.group("inline")
        if name not in values:
            raise KeyError(f"template hole {{{{{name}}}}} has no value")
        used.add(name)
        text = values[name]
        if match.group("block") is not None:
            if not text.strip():
                return ""
            block = textwrap.indent(text, match.group("indent"), lambda line: bool(line.strip())).rstrip("\n")
            return block + match.group("newline")
        return text

    result = _HOLE.sub(fill, template)
    unused = set(values) - used
    if unused:
        raise KeyError(f"values {sorted(unused)} are not used by the template")
    return result


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
