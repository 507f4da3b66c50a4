#if canImport(CoreGraphics) && canImport(CoreVideo)
import CoreGraphics
import CoreVideo
import Foundation

/// Errors from the image helpers.
public enum ImageHelperError: Error, LocalizedError, Equatable {
    /// A width or height is not positive.
    case invalidSize(width: Int, height: Int)
    /// `CVPixelBufferCreate` failed with this status.
    case pixelBufferCreationFailed(CVReturn)
    /// No bitmap context could be made over the pixel buffer's memory.
    case contextCreationFailed
    /// A pixel buffer or photo could not be turned into a `CGImage`.
    case conversionFailed

    public var errorDescription: String? {
        switch self {
        case let .invalidSize(width, height):
            return "Invalid image size \(width)×\(height)"
        case let .pixelBufferCreationFailed(status):
            return "CVPixelBufferCreate failed (\(status))"
        case .contextCreationFailed:
            return "Could not create a bitmap context for the pixel buffer"
        case .conversionFailed:
            return "Could not convert the image"
        }
    }
}

/// How a picture is fitted into a buffer of another aspect ratio.
public enum ImageScaling: Sendable {
    /// Scale to cover the buffer and cut the overflow evenly (Core ML's "center crop").
    case centerCrop
    /// Scale each axis independently to fill the buffer.
    case stretch
}

/// The largest rectangle with the given aspect ratio (width ÷ height) centred in `size`.
///
/// - Returns: `.zero` when `size` or `aspectRatio` is not positive.
public func centerCropRect(in size: CGSize, aspectRatio: CGFloat = 1) -> CGRect {
    guard size.width > 0, size.height > 0, aspectRatio > 0 else {
        return .zero
    }
    let width = min(size.width, size.height * aspectRatio)
    let height = width / aspectRatio
    return CGRect(x: (size.width - width) / 2, y: (size.height - height) / 2, width: width, height: height)
}

extension CGImage {
    /// The centred crop of the given aspect ratio (1: the largest centred square).
    public func centerCropped(aspectRatio: CGFloat = 1) -> CGImage? {
        let rect = centerCropRect(in: CGSize(width: width, height: height), aspectRatio: aspectRatio).integral
        return cropping(to: rect)
    }

    /// Draws the image into a new 32BGRA pixel buffer of `width` × `height` pixels.
    ///
    /// - Throws: ``ImageHelperError`` when the size is invalid or the buffer or context cannot be made.
    public func pixelBuffer(width: Int, height: Int, scaling: ImageScaling = .centerCrop) throws -> CVPixelBuffer {
        guard width > 0, height > 0 else {
            throw ImageHelperError.invalidSize(width: width, height: height)
        }
        let attributes: [CFString: Any] = [
            kCVPixelBufferCGImageCompatibilityKey: true,
            kCVPixelBufferCGBitmapContextCompatibilityKey: true,
            kCVPixelBufferIOSurfacePropertiesKey: [String: Any](),
        ]
        var created: CVPixelBuffer?
        let status = CVPixelBufferCreate(
            kCFAllocatorDefault, width, height, kCVPixelFormatType_32BGRA, attributes as CFDictionary, &created
        )
        guard status == kCVReturnSuccess, let buffer = created else {
            throw ImageHelperError.pixelBufferCreationFailed(status)
        }
        CVPixelBufferLockBaseAddress(buffer, [])
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        let bitmapInfo = CGImageAlphaInfo.premultipliedFirst.rawValue | CGBitmapInfo.byteOrder32Little.rawValue
        guard let context = CGContext(
            data: CVPixelBufferGetBaseAddress(buffer),
            width: width,
            height: height,
            bitsPerComponent: 8,
            bytesPerRow: CVPixelBufferGetBytesPerRow(buffer),
            space: CGColorSpaceCreateDeviceRGB(),
            bitmapInfo: bitmapInfo
        ) else {
            throw ImageHelperError.contextCreationFailed
        }
        context.interpolationQuality = .high
        let target = CGSize(width: width, height: height)
        context.draw(self, in: drawingRect(into: target, scaling: scaling))
        return buffer
    }

    /// Where to draw this image in a `target`-sized canvas so that it is fitted by `scaling`.
    func drawingRect(into target: CGSize, scaling: ImageScaling) -> CGRect {
        switch scaling {
        case .stretch:
            return CGRect(origin: .zero, size: target)
        case .centerCrop:
            let scale = max(target.width / CGFloat(width), target.height / CGFloat(height))
            let size = CGSize(width: CGFloat(width) * scale, height: CGFloat(height) * scale)
            return CGRect(
                x: (target.width - size.width) / 2, y: (target.height - size.height) / 2,
                width: size.width, height: size.height
            )
        }
    }
}
#endif
