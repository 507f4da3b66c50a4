"""ios_app: Swift parses, the ModelKit package and its fixtures are consistent.

No Swift compiler runs here: the macOS workflow compiles and tests the package
and builds the app; these tests catch what can be caught on Linux.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline_runner.swift.syntax import _parser, swift_syntax_errors

REPO = Path(__file__).resolve().parents[1]
IOS = REPO / "ios_app"
MODELKIT = IOS / "ModelKit"
RESOURCES = MODELKIT / "Tests" / "ModelKitTests" / "Resources"

SWIFT_FILES = sorted(p for p in IOS.rglob("*.swift") if "/App/Models/" not in p.as_posix())


def force_unwraps(source: str) -> list[str]:
    """`x!`, `try!`, `as!` and implicitly unwrapped optionals (`T!`), as line:column strings."""
    data = source.encode("utf-8")
    found: list[str] = []
    stack = [_parser().parse(data).root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        forced = (node.type == "bang" and node.parent is not None and node.parent.type == "postfix_expression") \
            or node.type in {"!", "as!"}
        if forced:
            found.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.parent.type}")
    return sorted(found)


def test_there_is_swift_to_check():
    assert len(SWIFT_FILES) >= 10


@pytest.mark.parametrize("path", SWIFT_FILES, ids=lambda p: p.relative_to(IOS).as_posix())
def test_swift_parses(path):
    assert swift_syntax_errors(path.read_text(encoding="utf-8")) == []


def test_force_unwrap_detector():
    assert force_unwraps("let a = b!\nlet c = try! f()\nlet d = e as! Int\nvar x: Int!\n") != []
    assert len(force_unwraps("let a = b!\nlet c = try! f()\nlet d = e as! Int\nvar x: Int!\n")) == 4
    assert force_unwraps('let y = !z\nif a != b { print("!") } // wow!\n') == []


@pytest.mark.parametrize("path", sorted((MODELKIT / "Sources").rglob("*.swift")), ids=lambda p: p.name)
def test_no_force_unwraps_in_modelkit(path):
    assert force_unwraps(path.read_text(encoding="utf-8")) == []


def test_package_declares_library_tests_and_resources():
    package = (MODELKIT / "Package.swift").read_text(encoding="utf-8")
    assert package.startswith("// swift-tools-version: 5.9")
    assert ".iOS(.v17)" in package and ".macOS(.v14)" in package
    assert '.library(name: "ModelKit", targets: ["ModelKit"])' in package
    assert re.search(r'\.testTarget\(\s*name: "ModelKitTests",\s*dependencies: \["ModelKit"\],'
                     r'\s*resources: \[\.copy\("Resources"\)\]', package)


def test_modelkit_public_api_is_present():
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (MODELKIT / "Sources" / "ModelKit").glob("*.swift"))
    for declaration in (
        "public init(vocabularyURL: URL, mergesURL: URL) throws",
        "public func encode(_ text: String, contextLength: Int = 77) -> [Int32]",
        "public func softmax(_ values: [Float]) -> [Float]",
        "public func topK(_ values: [Float], k: Int) -> [(index: Int, value: Float)]",
        "public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float",
        "public func l2Normalized(_ values: [Float]) -> [Float]",
        "public struct LabelEmbeddings: Codable",
        "#if canImport(CoreGraphics) && canImport(CoreVideo)",
        "#if canImport(Accelerate)",
    ):
        assert declaration in sources, declaration


def test_apple_only_imports_are_guarded():
    """ModelKit's Foundation-only parts must build with Swift on Linux."""
    apple_only = {"Accelerate", "CoreGraphics", "CoreVideo", "CoreImage", "ImageIO", "UIKit", "CoreML", "Vision"}
    for path in (MODELKIT / "Sources").rglob("*.swift"):
        depth = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            depth += stripped.startswith("#if ") - (stripped == "#endif")
            module = re.match(r"import (\w+)", stripped)
            if module and module.group(1) in apple_only:
                assert depth > 0, f"{path.name}: unguarded import {module.group(1)}"


def test_tokenizer_fixtures_are_committed_and_current(tmp_path):
    from pipeline_runner.tokenizer_export import export_clip_tokenizer

    fresh = export_clip_tokenizer(tmp_path)
    for name, path in fresh.items():
        committed = RESOURCES / path.name
        assert committed.is_file(), f"run ios_app/scripts/make_tokenizer_fixtures.py ({name})"
        assert committed.stat().st_size < 2 * 1024 * 1024
        assert committed.read_bytes() == path.read_bytes(), f"{committed.name} is stale: rerun the fixture script"
    vectors = json.loads((RESOURCES / "test_vectors.json").read_text(encoding="utf-8"))
    assert vectors["context_length"] == 77 and len(vectors["cases"]) >= 15
