import SwiftUI

/// The demo app: pick one of the models `copy_models.py` put into the bundle and run it
/// on a photo or on the live camera.
@main
@MainActor
struct ModelDemoApp: App {
    @State private var store = ModelStore()

    var body: some Scene {
        WindowGroup {
            ContentView(store: store)
        }
    }
}
