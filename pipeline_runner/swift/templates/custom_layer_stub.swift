{{ class_doc }}
@objc({{ class_name }})
final class {{ class_name }}: NSObject, MLCustomLayer {
    /// Number of inputs of the ONNX function.
    static let inputCount = {{ input_count }}
    /// Number of outputs of the ONNX function.
    static let outputCount = {{ output_count }}
    /// Why this layer is a stub.
    static let notImplementedMessage = {{ message_literal }}

    {{ parameter_properties | indent(4) }}

    /// Weight blobs Core ML passed, kept for a hand-written implementation.
    private(set) var weights: [Data] = []

    /// Reads the declared layer parameters (typed, with the recipe's defaults).
    required init(parameters: [String: Any]) throws {
        {{ parameter_reads | indent(8) }}
        super.init()
    }

    /// Keeps the weights for a hand-written ``evaluate(inputs:outputs:)``.
    func setWeightData(_ weights: [Data]) throws {
        self.weights = weights
    }

    /// Not generated: the output shapes of this body are unknown, so this always throws
    /// ``{{ class_name }}Error/notImplemented(_:)``.
    func outputShapes(forInputShapes inputShapes: [[NSNumber]]) throws -> [[NSNumber]] {
        throw {{ class_name }}Error.notImplemented(Self.notImplementedMessage)
    }

    /// Not generated: always throws ``{{ class_name }}Error/notImplemented(_:)``.
    func evaluate(inputs: [MLMultiArray], outputs: [MLMultiArray]) throws {
        throw {{ class_name }}Error.notImplemented(Self.notImplementedMessage)
    }

    /// Not generated: always throws ``{{ class_name }}Error/notImplemented(_:)``.
    func encode(commandBuffer: MTLCommandBuffer, inputs: [MTLTexture], outputs: [MTLTexture]) throws {
        throw {{ class_name }}Error.notImplemented(Self.notImplementedMessage)
    }
    {{ parameter_readers | indent(4) }}
}
