import CoreGraphics
import CoreVideo
import Foundation
import ImageIO
import ModelKit

/// A model that labels pictures. The generated registry adapts each generated
/// `image_classifier` wrapper (e.g. `ViTClassifier`) to this protocol.
protocol ImageClassifying: Sendable {
    /// At most `topK` predictions for an upright picture, most confident first.
    func classify(_ image: CGImage, topK: Int) async throws -> [Prediction]

    /// At most `topK` predictions for a camera frame rotated by `orientation`.
    func classify(
        _ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation, topK: Int
    ) async throws -> [Prediction]

    /// At most `topK` predictions for each of several pictures, in one Core ML batch
    /// (`predictions(fromBatch:)`), faster per picture than one call each.
    func classify(_ images: [CGImage], topK: Int) async throws -> [[Prediction]]
}

/// A model that embeds pictures and texts in one space (CLIP, MobileCLIP); the app
/// classifies zero-shot against labels the user types.
protocol ImageTextEmbedding: Sendable {
    /// The L2-normalised embedding of an upright picture.
    func embed(image: CGImage) async throws -> [Float]

    /// The L2-normalised embedding of a text.
    func embed(text: String) async throws -> [Float]

    /// L2-normalised embeddings of several pictures, in one Core ML batch.
    func embed(images: [CGImage]) async throws -> [[Float]]

    /// L2-normalised embeddings of several texts (e.g. all labels' prompts), in one Core ML batch.
    func embed(texts: [String]) async throws -> [[Float]]
}

/// What the app can do with a model of this build.
enum ModelCapability {
    case classifier(any ImageClassifying)
    case embedder(any ImageTextEmbedding)
    /// The model is in the bundle but the app has no demo for it; the reason says why.
    case unsupported(String)
}

/// Errors of the demo itself (models throw their own typed errors).
enum DemoError: Error, LocalizedError {
    case unsupportedModel(String)
    case labelsNotReady

    var errorDescription: String? {
        switch self {
        case let .unsupportedModel(reason):
            return reason
        case .labelsNotReady:
            return "Add a label and wait for its embedding before classifying."
        }
    }
}
