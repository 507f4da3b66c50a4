/// Errors thrown by ``{{ class_name }}`` besides ModelKit's ``ModelRuntimeError``.
public enum {{ class_name }}Error: Error, LocalizedError {
    /// {{ length_error_doc }}
    case wrongSequenceLength(expected: Int, actual: Int)

    public var errorDescription: String? {
        switch self {
        case let .wrongSequenceLength(expected, actual):
            return "{{ class_name }}: expected \(expected) tokens, got \(actual)"
        }
    }
}
