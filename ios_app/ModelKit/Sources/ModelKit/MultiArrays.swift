#if canImport(CoreML)
import CoreML
import Foundation

/// Reading and writing `MLMultiArray`s on every OS the wrappers support (iOS 13 and later).
///
/// Where the OS has it (iOS 15.4), memory is reached through
/// `withUnsafeBufferPointer(ofType:)` / `withUnsafeMutableBufferPointer(ofType:)`, which replace
/// the deprecated `dataPointer`; older systems go through the element subscript, which is slower
/// but respects the array's strides.
public enum MultiArrays {
    /// A new `MLMultiArray` of `shape` holding `values` in row-major order.
    ///
    /// - Parameter dataType: `.int32`, `.float32` or `.double` (what token-id inputs use).
    /// - Throws: ``ModelRuntimeError/invalidArgument(_:)`` when the counts differ or the type is unsupported.
    public static func array(_ values: [Int32], shape: [Int], dataType: MLMultiArrayDataType) throws -> MLMultiArray {
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw ModelRuntimeError.invalidArgument("\(values.count) values for shape \(shape)")
        }
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: dataType)
        if #available(iOS 15.4, macOS 12.3, tvOS 15.4, watchOS 8.5, *), isContiguous(array) {
            switch dataType {
            case .int32:
                array.withUnsafeMutableBufferPointer(ofType: Int32.self) { buffer, _ in
                    for (index, value) in values.enumerated() { buffer[index] = value }
                }
                return array
            case .float32:
                array.withUnsafeMutableBufferPointer(ofType: Float.self) { buffer, _ in
                    for (index, value) in values.enumerated() { buffer[index] = Float(value) }
                }
                return array
            case .double:
                array.withUnsafeMutableBufferPointer(ofType: Double.self) { buffer, _ in
                    for (index, value) in values.enumerated() { buffer[index] = Double(value) }
                }
                return array
            default:
                break
            }
        }
        guard [.int32, .float32, .double].contains(dataType) else {
            throw ModelRuntimeError.invalidArgument("token arrays of type \(dataType.rawValue) are not supported")
        }
        for (index, value) in values.enumerated() {
            array[rowMajorIndex(index, shape: shape)] = NSNumber(value: value)
        }
        return array
    }

    /// The elements of `array` as `Float`s, in row-major order, whatever its strides and type.
    public static func floats(_ array: MLMultiArray) -> [Float] {
        if #available(iOS 15.0, macOS 12.0, tvOS 15.0, watchOS 8.0, *) {
            return MLShapedArray<Float>(converting: array).scalars
        }
        let shape = array.shape.map { $0.intValue }
        return (0..<array.count).map { array[rowMajorIndex($0, shape: shape)].floatValue }
    }

    /// The multi-array output `name` of a prediction.
    ///
    /// - Throws: ``ModelRuntimeError/unexpectedOutput(_:)`` when there is none: never another output
    ///   in its place, which would be silently wrong for a model with several outputs.
    public static func output(named name: String, in features: MLFeatureProvider) throws -> MLMultiArray {
        guard let array = features.featureValue(for: name)?.multiArrayValue else {
            throw ModelRuntimeError.unexpectedOutput("the model has no multi-array output '\(name)'")
        }
        return array
    }

    /// True when `array` is densely packed in row-major order.
    public static func isContiguous(_ array: MLMultiArray) -> Bool {
        var expected = 1
        for (dimension, stride) in zip(array.shape, array.strides).reversed() {
            if dimension.intValue > 1 && stride.intValue != expected {
                return false
            }
            expected *= dimension.intValue
        }
        return true
    }

    /// The multi-index of the `offset`-th element in row-major order.
    static func rowMajorIndex(_ offset: Int, shape: [Int]) -> [NSNumber] {
        var remainder = offset
        var index = [NSNumber](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            let size = max(shape[axis], 1)
            index[axis] = NSNumber(value: remainder % size)
            remainder /= size
        }
        return index
    }
}
#endif
