import AVFoundation
import SwiftUI
import UIKit

/// The live camera image of a capture session.
struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.attach(session)
        return view
    }

    func updateUIView(_ uiView: PreviewView, context: Context) {}

    /// A view backed by an `AVCaptureVideoPreviewLayer`.
    final class PreviewView: UIView {
        override class var layerClass: AnyClass {
            AVCaptureVideoPreviewLayer.self
        }

        func attach(_ session: AVCaptureSession) {
            guard let previewLayer = layer as? AVCaptureVideoPreviewLayer else {
                return
            }
            previewLayer.session = session
            previewLayer.videoGravity = .resizeAspectFill
        }
    }
}
