// MARK: - Shapes

/// Element-wise: every output has the shape of the inputs, which must all be equal.
///
/// - Throws: ``{{ class_name }}Error/shapeMismatch(_:)`` when input shapes differ
///   (broadcasting is not supported by this generated layer).
func outputShapes(forInputShapes inputShapes: [[NSNumber]]) throws -> [[NSNumber]] {
    guard inputShapes.count == Self.inputCount, let first = inputShapes.first else {
        throw {{ class_name }}Error.arityMismatch(what: "inputs", expected: Self.inputCount, actual: inputShapes.count)
    }
    for shape in inputShapes.dropFirst() where shape != first {
        throw {{ class_name }}Error.shapeMismatch("input shapes \(inputShapes) differ; this layer does not broadcast")
    }
    return Array(repeating: first, count: Self.outputCount)
}

/// Checks counts, element counts, a common data type and dense layout; returns the element count and type.
private static func validate(
    inputs: [MLMultiArray], outputs: [MLMultiArray]
) throws -> (count: Int, dataType: MLMultiArrayDataType) {
    guard inputs.count == inputCount else {
        throw {{ class_name }}Error.arityMismatch(what: "inputs", expected: inputCount, actual: inputs.count)
    }
    guard outputs.count == outputCount, let first = outputs.first else {
        throw {{ class_name }}Error.arityMismatch(what: "outputs", expected: outputCount, actual: outputs.count)
    }
    let count = first.count
    let dataType = first.dataType
    for array in inputs + outputs {
        guard array.count == count else {
            throw {{ class_name }}Error.shapeMismatch("arrays have \(array.count) and \(count) elements")
        }
        guard array.dataType == dataType else {
            throw {{ class_name }}Error.unsupportedDataType("inputs and outputs mix data types")
        }
        guard isContiguous(array) else {
            throw {{ class_name }}Error.nonContiguous("array with shape \(array.shape) and strides \(array.strides)")
        }
    }
    return (count, dataType)
}

/// True when `array` is densely packed in row-major order.
private static func isContiguous(_ array: MLMultiArray) -> Bool {
    var expected = 1
    for (dimension, stride) in zip(array.shape, array.strides).reversed() {
        if dimension.intValue > 1 && stride.intValue != expected {
            return false
        }
        expected *= dimension.intValue
    }
    return true
}
