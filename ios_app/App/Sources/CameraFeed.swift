import AVFoundation
import CoreVideo
import Foundation
import ImageIO

/// One camera frame and how it is rotated relative to upright.
struct CameraFrame: @unchecked Sendable {
    let pixelBuffer: CVPixelBuffer
    let orientation: CGImagePropertyOrientation
}

/// Errors starting the camera.
enum CameraError: Error, LocalizedError {
    case accessDenied
    case noCamera
    case cannotAddInput
    case cannotAddOutput

    var errorDescription: String? {
        switch self {
        case .accessDenied:
            return "Camera access is off. Allow it in Settings › Privacy › Camera."
        case .noCamera:
            return "This device has no back camera (the Simulator has none)."
        case .cannotAddInput:
            return "The camera cannot be used as a capture input."
        case .cannotAddOutput:
            return "Video frames cannot be read from the camera."
        }
    }
}

/// The back camera as an `AsyncStream` of 32BGRA frames.
///
/// Frames that arrive while the consumer is busy are dropped: the stream keeps only the
/// newest one, so inference never falls behind the camera.
final class CameraFeed: NSObject, @unchecked Sendable {
    /// The capture session, for a preview layer.
    let session = AVCaptureSession()

    private let output = AVCaptureVideoDataOutput()
    private let sessionQueue = DispatchQueue(label: "CameraFeed.session")
    private let frameQueue = DispatchQueue(label: "CameraFeed.frames", qos: .userInitiated)
    private let lock = NSLock()
    private var continuation: AsyncStream<CameraFrame>.Continuation?
    /// Only touched on `sessionQueue`.
    private var isConfigured = false

    /// Frames until the consuming task is cancelled or ``stop()`` is called; a new call ends the previous stream.
    func frames() -> AsyncStream<CameraFrame> {
        AsyncStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            self.lock.withLock {
                self.continuation?.finish()
                self.continuation = continuation
            }
        }
    }

    /// Asks for camera access if needed, configures the session once and starts it.
    func start() async throws {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            break
        case .notDetermined:
            guard await AVCaptureDevice.requestAccess(for: .video) else {
                throw CameraError.accessDenied
            }
        default:
            throw CameraError.accessDenied
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            sessionQueue.async {
                do {
                    try self.configureIfNeeded()
                    if !self.session.isRunning {
                        self.session.startRunning()
                    }
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Ends the frame stream and stops the session.
    func stop() {
        lock.withLock {
            continuation?.finish()
            continuation = nil
        }
        sessionQueue.async {
            if self.session.isRunning {
                self.session.stopRunning()
            }
        }
    }

    private func configureIfNeeded() throws {
        guard !isConfigured else {
            return
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .hd1280x720
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw CameraError.noCamera
        }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else {
            throw CameraError.cannotAddInput
        }
        session.addInput(input)
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: frameQueue)
        guard session.canAddOutput(output) else {
            throw CameraError.cannotAddOutput
        }
        session.addOutput(output)
        isConfigured = true
    }
}

extension CameraFeed: AVCaptureVideoDataOutputSampleBufferDelegate {
    func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection
    ) {
        guard let pixelBuffer = CMSampleBufferGetImageBuffer(sampleBuffer) else {
            return
        }
        // The back camera's buffers are landscape; the app is portrait, so upright is a quarter turn right.
        let frame = CameraFrame(pixelBuffer: pixelBuffer, orientation: .right)
        let current = lock.withLock { continuation }
        current?.yield(frame)
    }
}
