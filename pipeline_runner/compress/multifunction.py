"""Graphs as functions of one multifunction package (iOS 18), sharing their identical weights.

``coremltools.utils.save_multifunction`` merges the programs and deduplicates equal constants
across functions (MobileCLIP's zero-shot classifier repeats the image encoder's weights).
"""

from __future__ import annotations

import warnings
from pathlib import Path


def multifunction_artifact(name: str) -> str:
    return f"multifunction/{name}.mlpackage"


def multifunction_report(name: str) -> str:
    return f"multifunction/{name}.json"


def save_shared(sources: dict[str, Path], out: Path) -> None:
    """One package whose functions are ``sources`` (function name -> single-function package);
    the first is the default function."""
    import coremltools as ct

    import shutil
    import tempfile

    desc = ct.utils.MultiFunctionDescriptor()
    with tempfile.TemporaryDirectory() as scratch:
        # coremltools may rewrite a package it opens: merge copies, never the upstream artifacts
        for i, (function, path) in enumerate(sources.items()):
            copy = Path(scratch) / str(i) / Path(path).name
            copy.parent.mkdir()
            (shutil.copytree if Path(path).is_dir() else shutil.copy2)(path, copy)
            desc.add_function(str(copy), src_function_name="main", target_function_name=function)
        desc.default_function_name = next(iter(sources))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ct.utils.save_multifunction(desc, str(out))
