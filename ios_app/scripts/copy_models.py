#!/usr/bin/env python3
"""Copy built models into the iOS demo app and generate its model catalog.

    python ios_app/scripts/copy_models.py build/ --recipes vit mobileclip

For each recipe, from ``build/<recipe>/``:

* ``coreml/*.mlpackage`` and ``coreml/*.mlmodel`` — the Core ML models the wrapper loads
  (by its ``...ResourceName`` constants; all of them when it names none), or the compressed
  variant it loads instead (``compressed/<graph>/<variant>.mlpackage``, when ``ios.variant`` is set);
* ``swift/*.swift`` — the generated wrapper (and any custom-layer classes), and
  ``swift/*.metal`` — custom-layer kernels, which Xcode compiles into the app's Metal library;
* ``app/*`` — files the wrapper reads at run time (label embeddings, tokenizer files);
  sub-folders are not copied (a warning names them);

are copied, flat, into ``ios_app/App/Models/``, under the names the wrapper loads them by
(``swift/interface.json``'s ``bundle_names``: the swift stage prefixes a recipe's files with
the recipe name, so two recipes' ``image_encoder.mlpackage`` never clash; other files keep
their names and may be shared only when identical). Then it writes:

* ``models.json`` — ``{"models": [{"name", "kind", "class_name", "files", "logit_scale",
  "model_bytes", "variant"}]}`` (``model_bytes``: the copied Core ML models' size on disk, shown in
  the app's model list);
* ``ModelRegistry.swift`` — maps each entry to an instance of its generated wrapper, which
  conforms to ModelKit's ``ImageClassifying`` / ``ImageTextEmbedding`` protocols itself.

The wrappers ``import ModelKit`` (the shared model runtime); the app target links it.

The wrapper's kind and class name come from ``swift/interface.json`` (written by the
swift stage); without it, from the Swift source itself. ``manifest.json`` is read when
present (its ``recipe`` name and failed ``stages``) but nothing depends on it.
``App/Models/`` is generated and git-ignored: it is replaced on every run.

Standard library only, so it runs before anything is installed (e.g. on a CI Mac).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1] / "App"
DEFAULT_DEST = APP_DIR / "Models"
CATALOG = "models.json"
REGISTRY = "ModelRegistry.swift"
KINDS = ("image_classifier", "embedding_model", "token_model")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CopyError(Exception):
    """A problem that stops the copy; the message says what to do."""


@dataclass
class ModelBuild:
    """What one recipe's build contributes to the app."""

    name: str
    kind: str
    class_name: str
    models: list[Path] = field(default_factory=list)
    swift: list[Path] = field(default_factory=list)
    app_files: list[Path] = field(default_factory=list)
    logit_scale: float | None = None
    warnings: list[str] = field(default_factory=list)
    bundle_names: dict[Path, str] = field(default_factory=dict)  # source -> name in the app bundle
    variant: str | None = None  # the compression variant the wrapper loads

    @property
    def model_bytes(self) -> int:
        return sum(_disk_size(m) for m in self.models)

    @property
    def files(self) -> list[Path]:
        return self.models + self.swift + self.app_files

    def dest_name(self, src: Path) -> str:
        """The file's name in the flat app bundle: as the swift stage chose it, else its own name."""
        return self.bundle_names.get(src, src.name)


# ---------------------------------------------------------------------------
# Reading a build directory


def _disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _wrapper_from_source(swift_files: list[Path]) -> tuple[str, str] | None:
    """(kind, class name) of the generated wrapper, recognised by its public API."""
    for path in swift_files:
        source = path.read_text(encoding="utf-8")
        match = re.search(r"public\s+final\s+class\s+([A-Za-z_]\w*)\s*:", source)
        if not match:
            continue
        if re.search(r"func\s+embed\s*\(\s*image\s*:", source) and re.search(r"func\s+embed\s*\(\s*text\s*:", source):
            return "embedding_model", match.group(1)
        if re.search(r"func\s+classify\s*\(", source):
            return "image_classifier", match.group(1)
        if re.search(r"func\s+logits\s*\(\s*for", source):
            return "token_model", match.group(1)
    return None


def _logit_scale(app_files: list[Path]) -> float | None:
    for path in app_files:
        if path.suffix == ".json":
            data = _read_json(path)
            if data and isinstance(data.get("logit_scale"), (int, float)) and "labels" in data:
                return float(data["logit_scale"])
    return None


def _models_the_wrapper_loads(models: list[Path], swift: list[Path], warnings: list[str],
                              bundle_names: dict[Path, str]) -> list[Path]:
    """Only the models the wrappers name (``static let ...ResourceName: String = "image_encoder"``).

    A recipe may convert graphs its wrapper never loads (MobileCLIP's baked-label ``zero_shot``);
    leaving them out keeps the app small and avoids name clashes in the flat bundle. When the
    Swift names no model, every model is copied.
    """
    names = {m for path in swift for m in re.findall(r'static let \w*[rR]esourceName: String = "([^"]+)"',
                                                     path.read_text(encoding="utf-8"))}
    used = [m for m in models if bundle_names.get(m, m.name).rsplit(".", 1)[0] in names]
    if not used:
        return models
    for m in models:
        if m not in used:
            warnings.append(f"{m.name} is not copied: no wrapper loads it")
    return used


def read_build(recipe_dir: Path) -> ModelBuild | None:
    """The app-relevant parts of ``build/<recipe>/``; ``None`` (with a reason printed) when there are none."""
    name = recipe_dir.name
    warnings: list[str] = []
    manifest = _read_json(recipe_dir / "manifest.json")
    if manifest:
        if manifest.get("recipe") not in (None, name):
            warnings.append(f"manifest.json names recipe {manifest['recipe']!r}; using the folder name {name!r}")
        stages = manifest.get("stages") if isinstance(manifest.get("stages"), dict) else {}
        failed = sorted(s for s, rec in stages.items() if isinstance(rec, dict) and rec.get("status") == "failed")
        if failed:
            warnings.append(f"stages failed in the last run: {', '.join(failed)} (copying what is on disk)")

    coreml_dir, swift_dir, app_dir = recipe_dir / "coreml", recipe_dir / "swift", recipe_dir / "app"
    models = sorted([*coreml_dir.glob("*.mlpackage"), *coreml_dir.glob("*.mlmodel")]) if coreml_dir.is_dir() else []
    swift = sorted([*swift_dir.glob("*.swift"), *swift_dir.glob("*.metal")]) if swift_dir.is_dir() else []
    app_entries = sorted(p for p in app_dir.iterdir() if not p.name.startswith(".")) if app_dir.is_dir() else []
    app_files = [p for p in app_entries if p.is_file()]
    for folder in (p for p in app_entries if p.is_dir()):
        warnings.append(f"{folder} is a folder: not copied (the wrappers look files up by name in a flat bundle)")
    if not models:
        print(f"skip {name}: no Core ML model in {coreml_dir}", file=sys.stderr)
        return None

    interface = _read_json(swift_dir / "interface.json") or {}
    kind, class_name = interface.get("wrapper"), interface.get("class_name")
    if kind not in KINDS or not class_name:
        found = _wrapper_from_source(swift)
        if found is None:
            print(f"skip {name}: no generated Swift wrapper in {swift_dir} (is ios.wrapper set in the recipe?)",
                  file=sys.stderr)
            return None
        kind, class_name = found
    if not IDENTIFIER.fullmatch(class_name):
        raise CopyError(f"{name}: wrapper class name {class_name!r} is not a Swift identifier")
    bundle_names = {recipe_dir / rel: dest for rel, dest in (interface.get("bundle_names") or {}).items()}
    # A compressed variant the wrapper loads instead of the converted model (ios.variant).
    models += sorted(p for p in bundle_names if p.suffix in (".mlpackage", ".mlmodel") and p.exists()
                     and p.parent.parent.name == "compressed")
    models = _models_the_wrapper_loads(models, swift, warnings, bundle_names)
    return ModelBuild(name=name, kind=kind, class_name=class_name, models=models, swift=swift,
                      app_files=app_files, logit_scale=_logit_scale(app_files), warnings=warnings,
                      bundle_names=bundle_names, variant=interface.get("variant"))


def find_recipes(build_dir: Path) -> list[str]:
    """Every folder of ``build_dir`` that holds a ``coreml/`` folder."""
    return sorted(p.name for p in build_dir.iterdir() if (p / "coreml").is_dir())


# ---------------------------------------------------------------------------
# Copying


def _same(a: Path, b: Path) -> bool:
    if a.is_dir() != b.is_dir():
        return False
    if a.is_file():
        return filecmp.cmp(a, b, shallow=False)
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    return all(_same(a / n, b / n) for n in cmp.common_files + cmp.common_dirs)


def plan_copies(builds: list[ModelBuild]) -> dict[str, Path]:
    """Destination name → source, refusing two different files with one name."""
    plan: dict[str, Path] = {}
    owners: dict[str, str] = {}
    reserved = {CATALOG, REGISTRY}
    for build in builds:
        for src in build.files:
            name = build.dest_name(src)
            if name in reserved:
                raise CopyError(f"{build.name}: {src} would overwrite the generated {name}")
            if name in plan and not _same(plan[name], src):
                raise CopyError(f"{build.name} and {owners[name]} both have a different {name}; "
                                f"the app bundle is flat, so file names must be unique across recipes")
            plan.setdefault(name, src)
            owners.setdefault(name, build.name)
    return plan


def _prepare_dest(dest: Path, force: bool) -> None:
    if dest.exists():
        generated = (dest / CATALOG).is_file() or not any(dest.iterdir())
        if not generated and not force:
            raise CopyError(f"{dest} exists and was not made by this script (no {CATALOG}); "
                            f"pass --force to replace it")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)


def copy_models(build_dir: Path, recipes: list[str] | None = None, dest: Path = DEFAULT_DEST,
                force: bool = False) -> list[ModelBuild]:
    """Copy the chosen recipes' builds into ``dest`` and write the catalog and registry."""
    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise CopyError(f"{build_dir} is not a directory (build a recipe first: python -m pipeline_runner ...)")
    available = find_recipes(build_dir)
    names = recipes if recipes else available
    missing = [n for n in names if not (build_dir / n).is_dir()]
    if missing:
        raise CopyError(f"no build for {', '.join(missing)} in {build_dir}; built: {', '.join(available) or 'none'}")

    builds = [b for b in (read_build(build_dir / n) for n in names) if b is not None]
    plan = plan_copies(builds)
    _prepare_dest(Path(dest), force)
    for name, src in plan.items():
        target = Path(dest) / name
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            shutil.copy2(src, target)
    (Path(dest) / CATALOG).write_text(render_catalog(builds), encoding="utf-8")
    (Path(dest) / REGISTRY).write_text(render_registry(builds), encoding="utf-8")
    return builds


# ---------------------------------------------------------------------------
# Generated files


def render_catalog(builds: list[ModelBuild]) -> str:
    models = [{
        "name": b.name,
        "kind": b.kind,
        "class_name": b.class_name,
        "files": [b.dest_name(p) for p in b.files],
        "logit_scale": b.logit_scale,
        "model_bytes": b.model_bytes,
        "variant": b.variant,
    } for b in builds]
    return json.dumps({"generated_by": "ios_app/scripts/copy_models.py", "models": models}, indent=2) + "\n"


def _swift_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# The app's capability for each wrapper kind (the wrapper conforms to the ModelKit protocol).
_CAPABILITIES = {"image_classifier": "classifier", "embedding_model": "embedder"}


def render_registry(builds: list[ModelBuild]) -> str:
    cases = []
    for b in builds:
        cases.append(f"        case {_swift_string(b.name)}:")
        if b.kind in _CAPABILITIES:
            cases.append(f"            return .{_CAPABILITIES[b.kind]}({b.class_name}())")
        else:
            reason = f"{b.name} ({b.class_name}) is a token model: the demo has no screen for token models yet."
            cases.append(f"            return .unsupported({_swift_string(reason)})")
    listed = ", ".join(b.name for b in builds) or "none"
    lines = [
        "// ModelRegistry.swift",
        f"// Generated by ios_app/scripts/copy_models.py (models: {listed}). Do not edit: rerun the script.",
        "",
        "import Foundation",
        "import ModelKit",
        "",
        "/// The models copied into this build of the app, by their `models.json` name.",
        "enum ModelRegistry {",
        "    /// A new instance of the named model's wrapper (it conforms to ModelKit's protocols).",
        "    static func capability(for name: String) -> ModelCapability {",
        "        switch name {",
        *cases,
        "        default:",
        '            return .unsupported("\\(name) is not in this build\'s model registry.")',
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", type=Path, help="the pipeline's build folder, e.g. build/")
    parser.add_argument("--recipes", nargs="*", metavar="NAME",
                        help="recipes to copy (default: every build with a coreml/ folder)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"default: {DEFAULT_DEST}")
    parser.add_argument("--force", action="store_true", help="replace --dest even if this script did not make it")
    args = parser.parse_args(argv)
    try:
        builds = copy_models(args.build_dir, args.recipes, args.dest, args.force)
    except CopyError as exc:
        print(f"copy_models: {exc}", file=sys.stderr)
        return 1
    for b in builds:
        for warning in b.warnings:
            print(f"warning: {b.name}: {warning}", file=sys.stderr)
        print(f"{b.name}: {b.kind} {b.class_name}, {len(b.files)} file(s)")
    if not builds:
        print("warning: no models copied; the app will show an empty catalog", file=sys.stderr)
    print(f"wrote {args.dest / CATALOG} and {args.dest / REGISTRY}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
