// swift-tools-version: 5.9
import PackageDescription

/// ModelKit: the Foundation-only pieces the iOS app and the generated model wrappers share
/// (CLIP tokenizer, vector math, label embeddings), plus image helpers where CoreGraphics exists.
let package = Package(
    name: "ModelKit",
    platforms: [.iOS(.v17), .macOS(.v14)],
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
    ]
)
