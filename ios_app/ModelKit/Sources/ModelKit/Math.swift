import Foundation
#if canImport(Accelerate)
import Accelerate
#endif

/// Softmax of `values`: `exp(x - max)` normalised to sum to 1 (stable for large logits).
///
/// - Returns: probabilities in the order of `values`; empty for empty input.
public func softmax(_ values: [Float]) -> [Float] {
    guard let maximum = values.max() else {
        return []
    }
    #if canImport(Accelerate)
    let exponentials = vForce.exp(vDSP.add(-maximum, values))
    return vDSP.divide(exponentials, vDSP.sum(exponentials))
    #else
    let exponentials = values.map { exp($0 - maximum) }
    let sum = exponentials.reduce(0, +)
    return exponentials.map { $0 / sum }
    #endif
}

/// The `k` largest values with their indices, largest first; ties keep index order and NaN sorts last.
///
/// - Returns: `min(k, values.count)` entries; empty when `k <= 0`.
public func topK(_ values: [Float], k: Int) -> [(index: Int, value: Float)] {
    guard k > 0 else {
        return []
    }
    let sortKey: (Float) -> Float = { $0.isNaN ? -.infinity : $0 }
    return values.enumerated()
        .sorted { lhs, rhs in
            let left = sortKey(lhs.element)
            let right = sortKey(rhs.element)
            return left != right ? left > right : lhs.offset < rhs.offset
        }
        .prefix(k)
        .map { (index: $0.offset, value: $0.element) }
}

/// Cosine of the angle between `a` and `b`, in -1...1; 0 when either has zero length.
///
/// - Precondition: `a` and `b` have the same number of elements.
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "cosineSimilarity: \(a.count) and \(b.count) elements")
    let denominator = (sumOfSquares(a) * sumOfSquares(b)).squareRoot()
    guard denominator > 0 else {
        return 0
    }
    return dot(a, b) / denominator
}

/// `values` scaled to unit Euclidean length; a zero vector is returned unchanged.
public func l2Normalized(_ values: [Float]) -> [Float] {
    let norm = sumOfSquares(values).squareRoot()
    guard norm > 0 else {
        return values
    }
    #if canImport(Accelerate)
    return vDSP.divide(values, norm)
    #else
    return values.map { $0 / norm }
    #endif
}

/// The dot product of two equally long vectors.
func dot(_ a: [Float], _ b: [Float]) -> Float {
    #if canImport(Accelerate)
    return vDSP.dot(a, b)
    #else
    return zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    #endif
}

/// The sum of the squares of `values`.
func sumOfSquares(_ values: [Float]) -> Float {
    #if canImport(Accelerate)
    return vDSP.sumOfSquares(values)
    #else
    return values.reduce(0) { $0 + $1 * $1 }
    #endif
}
