#if canImport(CoreGraphics) && canImport(CoreVideo) && canImport(ImageIO)
import CoreGraphics
import CoreVideo
import ImageIO

/// A model that labels pictures; generated `image_classifier` wrappers conform to it.
public protocol ImageClassifying: Sendable {
    /// At most `topK` predictions for an upright picture, most confident first.
    func classify(_ image: CGImage, topK: Int) async throws -> [Prediction]

    /// At most `topK` predictions for a camera frame rotated by `orientation`.
    func classify(
        _ pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation, topK: Int
    ) async throws -> [Prediction]

    /// At most `topK` predictions for each upright picture, in the order of `images`, from one
    /// Core ML batch (`predictions(fromBatch:)`).
    func classify(_ images: [CGImage], topK: Int) async throws -> [[Prediction]]
}

/// A model that embeds pictures and texts in one space (CLIP, MobileCLIP); generated
/// `embedding_model` wrappers conform to it.
public protocol ImageTextEmbedding: Sendable {
    /// The L2-normalised embedding of an upright picture.
    func embed(image: CGImage) async throws -> [Float]

    /// The L2-normalised embedding of a camera frame rotated by `orientation`, without drawing
    /// it into a `CGImage` first (Vision scales the buffer itself).
    func embed(pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation) async throws -> [Float]

    /// The L2-normalised embedding of a text.
    func embed(text: String) async throws -> [Float]

    /// The L2-normalised embeddings of several upright pictures, from one Core ML batch.
    func embed(images: [CGImage]) async throws -> [[Float]]

    /// The L2-normalised embeddings of several texts (e.g. label prompts), batched.
    func embed(texts: [String]) async throws -> [[Float]]
}
#endif
