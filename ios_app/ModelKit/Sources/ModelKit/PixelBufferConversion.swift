#if canImport(CoreImage) && canImport(CoreVideo) && canImport(ImageIO)
import CoreImage
import CoreVideo
import ImageIO

/// Turns camera frames into upright `CGImage`s; one instance can serve many threads
/// (`CIContext` is thread-safe), so keep one and reuse it.
public final class PixelBufferConverter: @unchecked Sendable {
    private let context: CIContext

    public init(context: CIContext = CIContext(options: [.cacheIntermediates: false])) {
        self.context = context
    }

    /// The frame rotated upright.
    ///
    /// - Parameter orientation: how the buffer is rotated relative to upright
    ///   (`.right` for the back camera held in portrait).
    /// - Throws: ``ImageHelperError/conversionFailed`` when Core Image cannot render it.
    public func cgImage(from pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation = .up) throws -> CGImage {
        let image = CIImage(cvPixelBuffer: pixelBuffer).oriented(orientation)
        guard let rendered = context.createCGImage(image, from: image.extent) else {
            throw ImageHelperError.conversionFailed
        }
        return rendered
    }
}
#endif
