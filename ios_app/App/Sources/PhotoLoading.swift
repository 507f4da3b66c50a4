import CoreGraphics
import Foundation
import ImageIO
import PhotosUI
import SwiftUI

/// Errors loading a picked photo.
enum PhotoLoadingError: Error, LocalizedError {
    case noData
    case undecodable

    var errorDescription: String? {
        switch self {
        case .noData:
            return "The photo could not be loaded."
        case .undecodable:
            return "The photo's format is not supported."
        }
    }
}

extension PhotosPickerItem {
    /// The picked photo, rotated upright and at most `maxPixelSize` pixels on its longer side.
    func loadUprightImage(maxPixelSize: Int = 1_024) async throws -> CGImage {
        guard let data = try await loadTransferable(type: Data.self) else {
            throw PhotoLoadingError.noData
        }
        return try makeUprightImage(from: data, maxPixelSize: maxPixelSize)
    }
}

/// Decodes image data with ImageIO, applying its EXIF orientation and downsampling on the way.
func makeUprightImage(from data: Data, maxPixelSize: Int) throws -> CGImage {
    guard let source = CGImageSourceCreateWithData(data as CFData, nil) else {
        throw PhotoLoadingError.undecodable
    }
    let options: [CFString: Any] = [
        kCGImageSourceCreateThumbnailFromImageAlways: true,
        kCGImageSourceCreateThumbnailWithTransform: true,
        kCGImageSourceThumbnailMaxPixelSize: maxPixelSize,
    ]
    guard let image = CGImageSourceCreateThumbnailAtIndex(source, 0, options as CFDictionary) else {
        throw PhotoLoadingError.undecodable
    }
    return image
}
