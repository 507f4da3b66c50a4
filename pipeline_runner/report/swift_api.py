"""The public API of a generated Swift file: its public/open declarations, one line each.

A line-based scan (not a parser) is enough here because the generator writes each
declaration's head on its own lines (a long parameter list continues until the ``{``);
tree-sitter-swift, which could parse it, is a test-only dependency.
"""

from __future__ import annotations

import re

_DECL = re.compile(r"^\s*(?:@\w+\s+)*(?:public|open)\s+(?:final\s+|static\s+|convenience\s+|override\s+)*"
                   r"(?:class|struct|enum|protocol|func|init|var|let|typealias|extension)\b")

USAGE = {
    "image_classifier": ("let model = {C}()\n"
                         "let top5 = try await model.classify(cgImage)        // or a CVPixelBuffer from the camera\n"
                         "for p in top5 {{ print(p.label, p.confidence) }}"),
    "embedding_model": ("let model = {C}()\n"
                        "let imageVector = try await model.embed(image: cgImage)\n"
                        "let textVector = try await model.embed(text: \"a photo of a cat\")\n"
                        "let best = try await model.classify(cgImage)       // zero-shot over the shipped labels"),
    "token_model": ("let model = {C}()\n"
                    "let logits = try await model.logits(for: tokenIDs)  // [Int32] of the model's sequence length"),
}


def public_api(source: str) -> list[str]:
    lines, pending = [], None
    for line in source.splitlines():
        if pending is not None:
            pending += " " + line.strip()
        elif _DECL.match(line):
            pending = line.strip()
        else:
            continue
        if pending.count("(") <= pending.count(")") or "{" in line:
            head = pending.split("{")[0].strip() if "{" in pending and not pending.startswith("public var") else pending
            head = re.sub(r"\s*=\s*\[$", "", head)  # a multi-line array constant: its type is enough
            lines.append(re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", head)).rstrip(" {"))
            pending = None
    return lines


def usage(wrapper: str | None, class_name: str | None) -> str | None:
    template = USAGE.get(wrapper or "")
    return template.format(C=class_name) if template and class_name else None
