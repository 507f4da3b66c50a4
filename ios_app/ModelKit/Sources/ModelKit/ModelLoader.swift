#if canImport(CoreML)
import CoreML
import Foundation

/// Errors of ModelKit's model runtime (loading, running, reading outputs).
public enum ModelRuntimeError: Error, LocalizedError, Equatable {
    /// A compiled model or a resource file is not in the bundle.
    case resourceNotFound(String)
    /// The model produced no output of the expected name or type.
    case unexpectedOutput(String)
    /// An argument is out of range (for example `topK < 1`).
    case invalidArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .resourceNotFound(detail), let .unexpectedOutput(detail), let .invalidArgument(detail):
            return detail
        }
    }
}

/// The URL of `name` ("file.ext") in `bundle`.
///
/// - Throws: ``ModelRuntimeError/resourceNotFound(_:)`` when the bundle has no such file.
public func bundledResource(_ name: String, in bundle: Bundle = .main) throws -> URL {
    let url = URL(fileURLWithPath: name)
    let base = url.deletingPathExtension().lastPathComponent
    let pathExtension = url.pathExtension.isEmpty ? nil : url.pathExtension
    guard let found = bundle.url(forResource: base, withExtension: pathExtension) else {
        throw ModelRuntimeError.resourceNotFound("\(name) is not in the app bundle")
    }
    return found
}

/// Loads one compiled Core ML model (`.mlmodelc`) once; concurrent callers await the same
/// load, and a failed load is retried by the next caller.
///
/// `MLModel` is documented as safe to use from several threads for predictions, so the
/// loaded model is shared. The mutable state (the load task) sits behind a lock, which is
/// why the class is `@unchecked Sendable`.
public final class ModelLoader: @unchecked Sendable {
    /// The model, once loaded; `MLModel` predictions are thread-safe.
    private struct Loaded: @unchecked Sendable {
        let model: MLModel
    }

    /// The resource name (`<name>.mlmodelc`) looked up in `Bundle.main` when no URL is given.
    public let resourceName: String
    private let url: URL?
    private let computeUnits: MLComputeUnits
    /// The function of a multifunction model to load (`nil`: its default function).
    public let functionName: String?
    private let lock = NSLock()
    private var task: Task<Loaded, Error>?

    /// - Parameters:
    ///   - resourceName: the compiled model's name in the bundle, without `.mlmodelc`.
    ///   - url: a compiled model elsewhere; `nil` looks `resourceName` up in `Bundle.main`.
    ///   - computeUnits: where Core ML may run the model.
    ///   - functionName: the function of a multifunction model (one per enumerated input shape)
    ///     to load, through `MLModelConfiguration.functionName` (iOS 18 / macOS 15); `nil` loads
    ///     the model's default function. Each function needs its own loader.
    public init(resourceName: String, url: URL? = nil, computeUnits: MLComputeUnits = .all,
                functionName: String? = nil) {
        self.resourceName = resourceName
        self.url = url
        self.computeUnits = computeUnits
        self.functionName = functionName
    }

    /// The loaded model, loading it on first use.
    public func model() async throws -> MLModel {
        let task = currentTask()
        do {
            return try await task.value.model
        } catch {
            forget(task)
            throw error
        }
    }

    private func currentTask() -> Task<Loaded, Error> {
        lock.lock()
        defer { lock.unlock() }
        if let task {
            return task
        }
        let resourceName = resourceName
        let url = url
        let computeUnits = computeUnits
        let functionName = functionName
        let newTask = Task {
            try await Self.load(resourceName: resourceName, url: url, computeUnits: computeUnits, functionName: functionName)
        }
        task = newTask
        return newTask
    }

    private func forget(_ failed: Task<Loaded, Error>) {
        lock.lock()
        defer { lock.unlock() }
        if task == failed {
            task = nil
        }
    }

    private static func load(
        resourceName: String, url: URL?, computeUnits: MLComputeUnits, functionName: String?
    ) async throws -> Loaded {
        guard let modelURL = url ?? Bundle.main.url(forResource: resourceName, withExtension: "mlmodelc") else {
            throw ModelRuntimeError.resourceNotFound("\(resourceName).mlmodelc is not in the app bundle")
        }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        if let functionName {
            guard #available(iOS 18.0, macOS 15.0, tvOS 18.0, watchOS 11.0, *) else {
                throw ModelRuntimeError.invalidArgument(
                    "\(resourceName): loading function '\(functionName)' of a multifunction model needs iOS 18 / macOS 15")
            }
            configuration.functionName = functionName
        }
        if #available(iOS 14.0, macOS 11.0, tvOS 14.0, watchOS 7.0, *) {
            let model = try await MLModel.load(contentsOf: modelURL, configuration: configuration)
            return Loaded(model: model)
        }
        // iOS 13: only the synchronous initialiser exists; this runs inside the load task.
        let model = try MLModel(contentsOf: modelURL, configuration: configuration)
        return Loaded(model: model)
    }
}

extension MLModel {
    /// One prediction: Core ML's asynchronous API where the OS has it (iOS 17), else the
    /// synchronous one (iOS 13–16), which blocks the calling task's thread while it runs.
    public func predictFeatures(from input: MLFeatureProvider) async throws -> MLFeatureProvider {
        if #available(iOS 17.0, macOS 14.0, tvOS 17.0, watchOS 10.0, *) {
            return try await prediction(from: input)
        }
        try Task.checkCancellation()
        return try prediction(from: input)
    }
}
#endif
