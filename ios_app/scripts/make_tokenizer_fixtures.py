#!/usr/bin/env python3
"""Regenerate ModelKit's tokenizer test fixtures from open_clip.

Writes vocab.json, merges.txt and test_vectors.json into
ios_app/ModelKit/Tests/ModelKitTests/Resources/ with
pipeline_runner.tokenizer_export.export_clip_tokenizer. Run from anywhere:

    python ios_app/scripts/make_tokenizer_fixtures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "ios_app" / "ModelKit" / "Tests" / "ModelKitTests" / "Resources"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from pipeline_runner.tokenizer_export import export_clip_tokenizer

    for name, path in export_clip_tokenizer(args.out).items():
        print(f"{name:>12}: {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
