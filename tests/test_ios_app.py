"""ios_app: Swift parses, the ModelKit package and its fixtures are consistent.

No Swift compiler runs here: the macOS workflow compiles and tests the package
and builds the app; these tests catch what can be caught on Linux.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pipeline_runner.swift.syntax import swift_syntax_errors, syntax_nodes

REPO = Path(__file__).resolve().parents[1]
IOS = REPO / "ios_app"
MODELKIT = IOS / "ModelKit"
RESOURCES = MODELKIT / "Tests" / "ModelKitTests" / "Resources"

SWIFT_FILES = sorted(p for p in IOS.rglob("*.swift") if "/App/Models/" not in p.as_posix())


def force_unwraps(source: str) -> list[str]:
    """`x!`, `try!`, `as!` and implicitly unwrapped optionals (`T!`), as line:column strings."""
    data = source.encode("utf-8")
    found: list[str] = []
    for node in syntax_nodes(data):
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
    assert package.startswith("// swift-tools-version: 6.0")
    # iOS 13: the oldest ios.deployment_target; Swift 6 language mode (strict concurrency).
    assert ".iOS(.v13)" in package and ".macOS(.v10_15)" in package
    assert "swiftLanguageModes: [.v6]" in package
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
    texts = "\n".join(case["text"] for case in vectors["cases"])
    # The cleaning edge cases where the Swift once differed from open_clip (ftfy.fix_text, then
    # html.unescape twice): the Swift tests check every case against these ids.
    for edge in ("&copy;", "&amp chips", "&#150;", "\x00", "\x07", "\x7f", "\ufeff", "\u0085", "\x1b[31m", "&AMP;"):
        assert edge in texts, edge


def test_text_cleaning_tables_are_current():
    """ModelKit's HTML-entity and ftfy tables, regenerated from this Python's html module and ftfy."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tables", IOS / "scripts" / "make_text_cleaning_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (MODELKIT / "Sources" / "ModelKit" / "TextCleaningTables.swift").read_text(encoding="utf-8")
    assert committed == module.render_tables(), "stale: run ios_app/scripts/make_text_cleaning_tables.py"
    assert "\ncopy\tA9\n" in committed.replace("    ", "") and "\namp\t26\n" in committed.replace("    ", "")


def test_text_cleaner_follows_open_clips_order():
    """ftfy first, then html.unescape twice (the Swift once unescaped first and knew six entities)."""
    cleaner = (MODELKIT / "Sources" / "ModelKit" / "TextCleaning.swift").read_text(encoding="utf-8")
    assert "let unescaped = unescapeHTML(unescapeHTML(fixText(text)))" in cleaner
    assert "namedEntities" not in cleaner and "TextCleaningTables.html5Entities" in cleaner


# ---------------------------------------------------------------------------
# The app, its XcodeGen spec and the copy script

APP_SOURCES = IOS / "App" / "Sources"


def _load_copy_models():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("ios_copy_models", IOS / "scripts" / "copy_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


copy_models = _load_copy_models()

CLASSIFIER_WRAPPER = """\
import CoreGraphics
import CoreML
import CoreVideo
import Foundation
import ImageIO
import Vision

public final class ViTClassifier: @unchecked Sendable {
    public struct Prediction: Sendable, Hashable {
        public let label: String
        public let confidence: Float
    }

    public init(modelURL: URL? = nil) {}

    public func classify(_ image: CGImage, topK: Int = 5) async throws -> [Prediction] { [] }

    public func classify(
        _ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up, topK: Int = 5
    ) async throws -> [Prediction] { [] }
}
"""

EMBEDDING_WRAPPER = """\
import CoreGraphics
import Foundation
import ModelKit

public final class MobileCLIP: @unchecked Sendable {
    public static let modelResourceName: String = "image_encoder"
    public static let textModelResourceName: String = "text_encoder"
    public init() {}
    public func embed(image: CGImage) async throws -> [Float] { [] }
    public func embed(text: String) async throws -> [Float] { [] }
    public func addLabel(_ label: String, template: String = "a photo of a {}.") async throws {}
}
"""

TOKEN_WRAPPER = """\
import CoreML
import Foundation

public final class TinyLM: @unchecked Sendable {
    public init() {}
    public func logits(for tokenIDs: [Int32]) async throws -> MLShapedArray<Float> { MLShapedArray(scalars: [0], shape: [1]) }
}
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def fake_build(root: Path) -> Path:
    """build/ with an image classifier (manifest + interface.json), an embedding model and a
    token model (directory layout only), and a recipe without a wrapper."""
    build = root / "build"
    vit = build / "vit"
    _write(vit / "coreml" / "vit.mlpackage" / "Manifest.json", "{}")
    _write(vit / "coreml" / "vit.mlpackage" / "Data" / "com.apple.CoreML" / "model.mlmodel", "spec")
    _write(vit / "swift" / "ViTClassifier.swift", CLASSIFIER_WRAPPER)
    _write(vit / "swift" / "interface.json", json.dumps({"wrapper": "image_classifier", "class_name": "ViTClassifier"}))
    _write(vit / "manifest.json", json.dumps({"recipe": "vit", "stages": {"convert": {"status": "ok"}}}))
    _write(vit / "onnx" / "vit.onnx", "not copied")

    clip = build / "mobileclip"
    _write(clip / "coreml" / "image_encoder.mlpackage" / "Manifest.json", "{}")
    _write(clip / "coreml" / "text_encoder.mlpackage" / "Manifest.json", "{}")
    _write(clip / "coreml" / "zero_shot.mlpackage" / "Manifest.json", "{}")  # the wrapper does not load it
    _write(clip / "swift" / "MobileCLIP.swift", EMBEDDING_WRAPPER)
    _write(clip / "app" / "label_embeddings.json",
           json.dumps({"labels": ["cat"], "embeddings": [[1.0, 0.0]], "logit_scale": 100.0}))
    _write(clip / "app" / "vocab.json", "{}")
    _write(clip / "app" / "merges.txt", "#version: 0.2\n")
    _write(clip / "app" / "stale" / "vocab.json", "an old layout: not copied")
    _write(clip / "app" / ".keep", "")

    lm = build / "tinylm"
    _write(lm / "coreml" / "tinylm.mlmodel", "spec")
    _write(lm / "swift" / "TinyLM.swift", TOKEN_WRAPPER)
    _write(lm / "app" / "vocab.json", "{}")  # identical to mobileclip's: shared, not a clash

    plain = build / "plain"
    _write(plain / "coreml" / "plain.mlpackage" / "Manifest.json", "{}")
    return build


def test_copy_models_copies_the_variant_the_wrapper_loads(tmp_path):
    """ios.variant: interface.json maps the compressed package to the bundle name the wrapper loads;
    that package is copied instead of the uncompressed one, and the catalog gives its size."""
    build = fake_build(tmp_path)
    vit = build / "vit"
    _write(vit / "compressed" / "vit" / "palettize4.mlpackage" / "Manifest.json", "{}")
    _write(vit / "swift" / "ViTClassifier.swift",
           CLASSIFIER_WRAPPER.replace("Sendable {\n", 'Sendable {\n    static let modelResourceName: String = "vit_palettize4"\n', 1))
    _write(vit / "swift" / "interface.json", json.dumps({
        "wrapper": "image_classifier", "class_name": "ViTClassifier", "variant": "palettize4",
        "bundle_names": {"compressed/vit/palettize4.mlpackage": "vit_palettize4.mlpackage"}}))
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--recipes", "vit", "--dest", str(dest)]) == 0
    entry = json.loads((dest / "models.json").read_text())["models"][0]
    assert entry["files"] == ["vit_palettize4.mlpackage", "ViTClassifier.swift"]
    assert entry["variant"] == "palettize4" and entry["model_bytes"] == len("{}")
    assert (dest / "vit_palettize4.mlpackage" / "Manifest.json").exists() and not (dest / "vit.mlpackage").exists()


def test_app_sources_cover_the_features():
    sources = {p.name: p.read_text(encoding="utf-8") for p in APP_SOURCES.glob("*.swift")}
    joined = "\n".join(sources.values())
    assert "@main" in joined and "PhotosPicker" in joined and "AVCaptureSession" in joined
    assert "case classifier(any ImageClassifying)" in joined and "case embedder(any ImageTextEmbedding)" in joined
    assert "ModelCatalog.load" in joined and "ModelRegistry.capability(for:" in joined
    assert '"a photo of a {}."' in joined
    assert "import ModelKit" in joined


@pytest.mark.parametrize("path", sorted(APP_SOURCES.glob("*.swift")), ids=lambda p: p.name)
def test_no_force_unwraps_in_app(path):
    assert force_unwraps(path.read_text(encoding="utf-8")) == []


def test_project_yml_declares_app_target_and_modelkit():
    import yaml

    project = yaml.safe_load((IOS / "project.yml").read_text(encoding="utf-8"))
    assert project["packages"]["ModelKit"]["path"] == "ModelKit"
    target = project["targets"]["ModelDemo"]
    assert target["type"] == "application" and target["platform"] == "iOS"
    assert str(target["deploymentTarget"]) == "17.0"
    assert {"package": "ModelKit", "product": "ModelKit"} in target["dependencies"]
    paths = [s["path"] if isinstance(s, dict) else s for s in target["sources"]]
    assert "App/Sources" in paths and "App/Models" in paths
    settings = target["settings"]["base"]
    assert settings["INFOPLIST_KEY_NSCameraUsageDescription"]
    assert settings["GENERATE_INFOPLIST_FILE"] == "YES"
    assert settings["COREML_CODEGEN_LANGUAGE"] == "None"
    for source in paths:
        assert source == "App/Models" or (IOS / source).is_dir()


def test_models_folder_is_git_ignored():
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert "ios_app/App/Models/" in ignored and "ios_app/*.xcodeproj/" in ignored


def test_copy_models_copies_builds_and_writes_catalog(tmp_path, capsys):
    build = fake_build(tmp_path)
    dest = tmp_path / "Models"
    code = copy_models.main([str(build), "--recipes", "vit", "mobileclip", "tinylm", "--dest", str(dest)])
    assert code == 0
    err = capsys.readouterr().err
    assert "stale is a folder: not copied" in err
    assert "zero_shot.mlpackage is not copied: no wrapper loads it" in err
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted(["vit.mlpackage", "ViTClassifier.swift", "image_encoder.mlpackage",
                            "text_encoder.mlpackage", "MobileCLIP.swift", "label_embeddings.json", "vocab.json",
                            "merges.txt", "tinylm.mlmodel", "TinyLM.swift", "models.json", "ModelRegistry.swift"])
    assert (dest / "vit.mlpackage" / "Data" / "com.apple.CoreML" / "model.mlmodel").read_text() == "spec"
    assert not (dest / "interface.json").exists() and not (dest / ".keep").exists()

    catalog = json.loads((dest / "models.json").read_text())
    by_name = {m["name"]: m for m in catalog["models"]}
    assert list(by_name) == ["vit", "mobileclip", "tinylm"]
    assert by_name["vit"]["kind"] == "image_classifier" and by_name["vit"]["class_name"] == "ViTClassifier"
    assert by_name["vit"]["files"] == ["vit.mlpackage", "ViTClassifier.swift"]
    assert by_name["mobileclip"]["kind"] == "embedding_model" and by_name["mobileclip"]["logit_scale"] == 100.0
    assert by_name["tinylm"] == {"name": "tinylm", "kind": "token_model", "class_name": "TinyLM",
                                 "files": ["tinylm.mlmodel", "TinyLM.swift", "vocab.json"], "logit_scale": None,
                                 "model_bytes": len("spec"), "variant": None}
    assert by_name["vit"]["model_bytes"] == len("{}") + len("spec")

    registry = (dest / "ModelRegistry.swift").read_text()
    assert swift_syntax_errors(registry) == []
    assert 'case "vit":\n            return .classifier(ViTClassifier())' in registry
    assert 'case "mobileclip":\n            return .embedder(MobileCLIP())' in registry
    assert "Adapter" not in registry  # the wrappers conform to ModelKit's protocols themselves
    assert 'case "tinylm":\n            return .unsupported(' in registry
    assert force_unwraps(registry) == []


def test_copy_models_defaults_to_every_build_and_skips_unwrapped(tmp_path, capsys):
    build = fake_build(tmp_path)
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--dest", str(dest)]) == 0
    captured = capsys.readouterr()
    assert "skip plain: no generated Swift wrapper" in captured.err
    catalog = json.loads((dest / "models.json").read_text())
    assert [m["name"] for m in catalog["models"]] == ["mobileclip", "tinylm", "vit"]


def test_copy_models_replaces_previous_output_only_if_generated(tmp_path):
    build = fake_build(tmp_path)
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--recipes", "vit", "--dest", str(dest)]) == 0
    assert copy_models.main([str(build), "--recipes", "mobileclip", "--dest", str(dest)]) == 0
    assert not (dest / "vit.mlpackage").exists() and (dest / "MobileCLIP.swift").exists()

    foreign = tmp_path / "Foreign"
    _write(foreign / "notes.txt", "mine")
    assert copy_models.main([str(build), "--recipes", "vit", "--dest", str(foreign)]) == 1
    assert (foreign / "notes.txt").exists()
    assert copy_models.main([str(build), "--recipes", "vit", "--dest", str(foreign), "--force"]) == 0


def test_copy_models_errors(tmp_path, capsys):
    build = fake_build(tmp_path)
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--recipes", "nope", "--dest", str(dest)]) == 1
    assert "no build for nope" in capsys.readouterr().err
    _write(build / "tinylm" / "app" / "merges.txt", "different")
    assert copy_models.main([str(build), "--recipes", "mobileclip", "tinylm", "--dest", str(dest)]) == 1
    assert "both have a different merges.txt" in capsys.readouterr().err
    assert copy_models.main([str(tmp_path / "missing"), "--dest", str(dest)]) == 1


def test_registry_for_no_models_parses(tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--dest", str(dest)]) == 0
    assert json.loads((dest / "models.json").read_text())["models"] == []
    assert swift_syntax_errors((dest / "ModelRegistry.swift").read_text()) == []


def test_app_and_registry_agree_on_names():
    """The generated registry uses the app's protocol and enum names; keep them in step."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in APP_SOURCES.glob("*.swift"))
    modelkit = "\n".join(p.read_text(encoding="utf-8") for p in (MODELKIT / "Sources").rglob("*.swift"))
    registry = copy_models.render_registry([])
    assert re.search(r"\benum ModelCapability: Sendable\b", sources)
    for name in ("ImageClassifying", "ImageTextEmbedding"):
        assert re.search(rf"\bpublic protocol {name}: Sendable\b", modelkit)
    assert "static func capability(for name: String) -> ModelCapability" in registry
    assert "case classifier(any ImageClassifying)" in sources and "case embedder(any ImageTextEmbedding)" in sources
    assert "case unsupported(String)" in sources


def test_copy_models_uses_the_bundle_names_the_wrapper_loads(tmp_path):
    """Two CLIP variants both have image_encoder.mlpackage; the swift stage's bundle_names keep them apart."""
    build = fake_build(tmp_path)
    for recipe, cls in (("mobileclip", "MobileCLIP"), ("mobileclip_s2", "MobileCLIPS2")):
        clip = build / recipe
        if recipe == "mobileclip_s2":
            shutil.copytree(build / "mobileclip", clip)
            (clip / "swift" / "MobileCLIP.swift").rename(clip / "swift" / f"{cls}.swift")
            _write(clip / "app" / "label_embeddings.json",
                   json.dumps({"labels": ["dog"], "embeddings": [[0.0, 1.0]], "logit_scale": 50.0}))
        names = {f"coreml/{g}.mlpackage": f"{recipe}_{g}.mlpackage" for g in ("image_encoder", "text_encoder")}
        names.update({f"app/{f}": f"{recipe}_{f}" for f in ("label_embeddings.json", "vocab.json", "merges.txt")})
        source = (clip / "swift" / f"{cls}.swift").read_text().replace("MobileCLIP", cls)
        for old, new in (('"image_encoder"', f'"{recipe}_image_encoder"'), ('"text_encoder"', f'"{recipe}_text_encoder"')):
            source = source.replace(old, new)
        _write(clip / "swift" / f"{cls}.swift", source)
        _write(clip / "swift" / "interface.json",
               json.dumps({"wrapper": "embedding_model", "class_name": cls, "bundle_names": names}))
    dest = tmp_path / "Models"
    assert copy_models.main([str(build), "--recipes", "mobileclip", "mobileclip_s2", "--dest", str(dest)]) == 0
    for recipe in ("mobileclip", "mobileclip_s2"):
        assert (dest / f"{recipe}_image_encoder.mlpackage").is_dir()
        assert json.loads((dest / f"{recipe}_label_embeddings.json").read_text())["labels"] == (
            ["cat"] if recipe == "mobileclip" else ["dog"])
    assert not (dest / "image_encoder.mlpackage").exists()
    catalog = {m["name"]: m for m in json.loads((dest / "models.json").read_text())["models"]}
    assert "mobileclip_s2_text_encoder.mlpackage" in catalog["mobileclip_s2"]["files"]


# ---------------------------------------------------------------------------
# Review findings in the app and ModelKit (structure checks; the macOS workflow compiles them)


def _function(source: str, signature: str) -> str:
    """The text of the function starting at ``signature`` up to its closing brace at the same indent."""
    start = source.index(signature)
    indent = source[source.rindex("\n", 0, start) + 1:start]
    return source[start:source.index(f"\n{indent}}}", start)]


def test_switching_embedding_models_never_scores_against_the_old_labels():
    labels = (APP_SOURCES / "ZeroShotLabels.swift").read_text(encoding="utf-8")
    attach = _function(labels, "func attach(")
    assert attach.index("embeddings = nil") < attach.index("rebuild()")
    store = (APP_SOURCES / "ModelStore.swift").read_text(encoding="utf-8")
    select = _function(store, "func select(")
    embedder = select[select.index("if case let .embedder"):select.index("} else {")]
    assert "reclassifyPhoto" not in embedder  # reclassified when the new embeddings are ready
    run = _function(store, "private func run(")
    assert run.count("guard generation == selectionGeneration else") >= 2  # late results dropped


def test_vision_runner_is_concurrency_clean():
    vision = (MODELKIT / "Sources" / "ModelKit" / "VisionRunner.swift").read_text(encoding="utf-8")
    run = _function(vision, "public func run<")
    queue = run.index("DispatchQueue.global(qos: .userInitiated).async {")
    # The request and its handler are made on the queue: no Vision request crosses into the closure.
    assert queue < run.index("VNCoreMLRequest(model:") and queue < run.index("image.makeHandler()")
    assert "withTaskCancellationHandler" in run and "cancellation.cancel()" in run
    assert "extract: @escaping @Sendable ([VNObservation]) throws -> Value" in run
    assert "public enum VisionImage: @unchecked Sendable" in vision


def test_camera_session_is_built_once_and_frames_skip_the_cgimage_render():
    camera_view = (APP_SOURCES / "CameraInputView.swift").read_text(encoding="utf-8")
    assert "CameraFeed()" not in camera_view and "store.camera" in camera_view
    store = (APP_SOURCES / "ModelStore.swift").read_text(encoding="utf-8")
    assert "camera = CameraFeed()" in _function(store, "init()")
    assert "embedder.embed(pixelBuffer: frame.pixelBuffer, orientation: frame.orientation)" in store
    assert "PixelBufferConverter" not in store and "cgImage(from:" not in store


def test_model_picker_starts_on_a_valid_selection():
    content = (APP_SOURCES / "ContentView.swift").read_text(encoding="utf-8")
    assert 'selectedName ?? ""' not in content
    assert 'Picker("Model", selection: $store.pickerSelection)' in content and ".tag(Optional(entry.name))" in content
    store = (APP_SOURCES / "ModelStore.swift").read_text(encoding="utf-8")
    assert "var pickerSelection: String? {" in store


def test_app_builds_in_swift_6_mode():
    import yaml

    project = yaml.safe_load((IOS / "project.yml").read_text(encoding="utf-8"))
    assert str(project["settings"]["base"]["SWIFT_VERSION"]) == "6.0"


def test_no_async_function_locks_an_nslock_directly():
    from pipeline_runner.swift.syntax import async_functions_that_lock

    assert async_functions_that_lock("func f() async { lock.lock() }\nfunc g() { lock.lock() }") == [
        "func f() async"]
    offenders = [f for p in SWIFT_FILES for f in async_functions_that_lock(p.read_text(encoding="utf-8"))]
    assert offenders == []
