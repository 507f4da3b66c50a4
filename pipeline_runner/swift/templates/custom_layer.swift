{{ class_doc }}
@objc({{ class_name }})
final class {{ class_name }}: NSObject, MLCustomLayer {
    /// Number of inputs of the ONNX function.
    static let inputCount = {{ input_count }}
    /// Number of outputs of the ONNX function.
    static let outputCount = {{ output_count }}
    /// Name of the compute kernel in ``metalSource``.
    static let kernelName = "{{ kernel_name }}"
    /// Metal source of the GPU kernel, generated from the same expression as ``evaluate(inputs:outputs:)``.
    static let metalSource = """
{{ metal_source }}
    """

    {{ parameter_properties | indent(4) }}

    /// The pipeline on the default Metal device, built once per process (not per layer
    /// instance): `nil` without Metal, else the pipeline or the error that building it gave.
    private static let sharedPipeline = SharedPipeline(device: MTLCreateSystemDefaultDevice())

    /// Guards ``otherDevicePipeline``, built if Core ML encodes on a device other than the default one.
    private let lock = NSLock()
    private var otherDevicePipeline: MTLComputePipelineState?

    /// Reads the layer parameters; throws at load when the Metal kernel cannot be built.
    required init(parameters: [String: Any]) throws {
        {{ parameter_reads | indent(8) }}
        super.init()
        if let result = Self.sharedPipeline.result {
            _ = try result.get()
        }
    }

    /// The ONNX function has no weights; anything Core ML passes is ignored.
    func setWeightData(_ weights: [Data]) throws {}

    {{ shape_checks | indent(4) }}

    // MARK: - CPU

    /// Computes the outputs element by element over Float32 (or, on arm64, Float16) memory.
    ///
    /// - Throws: ``{{ class_name }}Error`` for wrong counts, differing shapes, strided arrays
    ///   or unsupported data types.
    func evaluate(inputs: [MLMultiArray], outputs: [MLMultiArray]) throws {
        let (count, dataType) = try Self.validate(inputs: inputs, outputs: outputs)
        {{ parameter_locals | indent(8) }}
        if dataType == .float32 {
            {{ float32_body | indent(12) }}
            return
        }
        #if arch(arm64)
        if #available(iOS 16.0, macOS 13.0, tvOS 16.0, watchOS 9.0, *), dataType == .float16 {
            {{ float16_body | indent(12) }}
            return
        }
        #endif
        throw {{ class_name }}Error.unsupportedDataType("MLMultiArrayDataType(rawValue: \(dataType.rawValue)) is not supported")
    }

    // MARK: - GPU

    /// Encodes the generated Metal kernel over the half-precision texture arrays Core ML passes.
    ///
    /// Inputs are bound at texture indices `0..<inputCount`, outputs after them; the
    /// grid covers the first output's width, height and array length.
    func encode(commandBuffer: MTLCommandBuffer, inputs: [MTLTexture], outputs: [MTLTexture]) throws {
        guard inputs.count == Self.inputCount else {
            throw {{ class_name }}Error.arityMismatch(what: "input textures", expected: Self.inputCount, actual: inputs.count)
        }
        guard outputs.count == Self.outputCount, let output = outputs.first else {
            throw {{ class_name }}Error.arityMismatch(what: "output textures", expected: Self.outputCount, actual: outputs.count)
        }
        let pipeline = try pipelineState(for: commandBuffer.device)
        guard let encoder = commandBuffer.makeComputeCommandEncoder() else {
            throw {{ class_name }}Error.metal("could not create a compute command encoder")
        }
        encoder.setComputePipelineState(pipeline)
        for (index, texture) in inputs.enumerated() {
            encoder.setTexture(texture, index: index)
        }
        for (index, texture) in outputs.enumerated() {
            encoder.setTexture(texture, index: inputs.count + index)
        }
        {{ set_parameter_bytes | indent(8) }}
        let groupWidth = pipeline.threadExecutionWidth
        let groupHeight = max(1, pipeline.maxTotalThreadsPerThreadgroup / groupWidth)
        let threadsPerGroup = MTLSize(width: groupWidth, height: groupHeight, depth: 1)
        let groups = MTLSize(
            width: (output.width + groupWidth - 1) / groupWidth,
            height: (output.height + groupHeight - 1) / groupHeight,
            depth: max(1, output.arrayLength)
        )
        encoder.dispatchThreadgroups(groups, threadsPerThreadgroup: threadsPerGroup)
        encoder.endEncoding()
    }

    /// The process-wide pipeline for the default device, else one built once for `device`.
    private func pipelineState(for device: MTLDevice) throws -> MTLComputePipelineState {
        if let shared = try Self.sharedPipeline.result?.get(), shared.device === device {
            return shared
        }
        lock.lock()
        defer { lock.unlock() }
        if let otherDevicePipeline, otherDevicePipeline.device === device {
            return otherDevicePipeline
        }
        let made = try Self.makePipeline(device: device)
        otherDevicePipeline = made
        return made
    }

    /// The compute pipeline for ``kernelName``: from the app's compiled Metal library when Xcode
    /// built the shipped `{{ kernel_name }}.metal` into it, else compiled from ``metalSource``.
    fileprivate static func makePipeline(device: MTLDevice) throws -> MTLComputePipelineState {
        if let function = device.makeDefaultLibrary()?.makeFunction(name: kernelName) {
            return try device.makeComputePipelineState(function: function)
        }
        let library: MTLLibrary
        do {
            library = try device.makeLibrary(source: metalSource, options: nil)
        } catch {
            throw {{ class_name }}Error.metal("the generated kernel does not compile: \(error.localizedDescription)")
        }
        guard let function = library.makeFunction(name: kernelName) else {
            throw {{ class_name }}Error.metal("kernel \(kernelName) is missing from the generated Metal source")
        }
        return try device.makeComputePipelineState(function: function)
    }
    {{ parameter_readers | indent(4) }}
}

/// The once-per-process pipeline of ``{{ class_name }}``. Pipeline states are immutable and
/// thread-safe in Metal, so sharing one between layer instances is safe (hence `@unchecked`).
private struct SharedPipeline: @unchecked Sendable {
    let result: Result<MTLComputePipelineState, Error>?

    init(device: MTLDevice?) {
        result = device.map { device in Result { try {{ class_name }}.makePipeline(device: device) } }
    }
}
