import SwiftUI

/// Runs the selected model on live camera frames, one at a time, dropping frames while busy.
@MainActor
struct CameraInputView: View {
    let store: ModelStore
    @State private var cameraError: String?

    /// The app's one camera: a view's `@State` initial value would build a new capture
    /// session every time SwiftUI re-creates this view.
    private var camera: CameraFeed { store.camera }

    var body: some View {
        ZStack {
            CameraPreview(session: camera.session)
            if let cameraError {
                Text(cameraError)
                    .padding()
                    .background(.regularMaterial, in: RoundedRectangle(cornerRadius: 8))
                    .padding()
            }
        }
        .frame(height: 360)
        .clipShape(RoundedRectangle(cornerRadius: 12))
        .task(id: store.selectedName) {
            await run()
        }
        .onDisappear {
            camera.stop()
        }
    }

    /// Feeds frames to the model until the view goes away or the model changes.
    private func run() async {
        let frames = camera.frames()
        do {
            try await camera.start()
            cameraError = nil
        } catch {
            cameraError = error.localizedDescription
            return
        }
        for await frame in frames {
            await store.classify(frame: frame)
        }
    }
}
