"""Syntax check for Swift source with tree-sitter-swift.

Swift cannot be compiled on Linux here; parsing with the tree-sitter grammar
catches syntax errors in generated and hand-written Swift before a Mac sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class SwiftSyntaxError:
    line: int  # 1-based
    column: int  # 1-based
    snippet: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: syntax error near {self.snippet!r}"


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter
    import tree_sitter_swift

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))


def swift_syntax_errors(source: str) -> list[SwiftSyntaxError]:
    """All ERROR / MISSING nodes of ``source``, in document order (empty: it parses)."""
    data = source.encode("utf-8")
    tree = _parser().parse(data)
    errors: list[SwiftSyntaxError] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, col = node.start_point
            snippet = data[node.start_byte : node.end_byte][:60].decode("utf-8", "replace")
            errors.append(SwiftSyntaxError(row + 1, col + 1, snippet or node.type))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return errors


def syntax_nodes(data: bytes):
    """Every node of the Swift source ``data``'s syntax tree (depth first)."""
    stack = [_parser().parse(data).root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        yield node


def async_functions_that_lock(source: str) -> list[str]:
    """Headers of async functions that call ``.lock()`` themselves: ``NSLock.lock()`` is
    ``noasync``, an error in Swift 6 mode (lock in a synchronous helper instead)."""
    data = source.encode("utf-8")
    found: list[str] = []
    for node in syntax_nodes(data):
        if node.type == "function_declaration":
            header, _, body = data[node.start_byte : node.end_byte].decode("utf-8").partition("{")
            if " async" in header and ".lock()" in body:
                found.append(" ".join(header.split()))
    return found
