// swift-tools-version: 6.0
import PackageDescription

/// ModelKit: what the iOS app and the generated model wrappers share — the model runtime
/// (loading, Vision, predictions, multi-arrays), the CLIP tokenizer, vector math and label
/// embeddings — plus image helpers where CoreGraphics exists.
///
/// iOS 13 is the oldest deployment target a recipe may ask for (`ios.deployment_target`);
/// APIs of later systems are used behind `#available`. Swift 6 language mode: strict
/// concurrency checking is on.
let package = Package(
    name: "ModelKit",
    platforms: [.iOS(.v13), .macOS(.v10_15), .tvOS(.v13)],
    products: [
        .library(name: "ModelKit", targets: ["ModelKit"]),
    ],
    targets: [
        .target(name: "ModelKit"),
        .testTarget(
            name: "ModelKitTests",
            dependencies: ["ModelKit"],
            resources: [.copy("Resources")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
