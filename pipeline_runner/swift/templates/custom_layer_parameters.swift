{% if "Float" in parameter_types %}
/// Reads a numeric layer parameter as `Float` (nil when absent or not numeric).
private static func floatParameter(_ parameters: [String: Any], _ key: String) -> Float? {
    switch parameters[key] {
    case let number as NSNumber: return number.floatValue
    case let text as String: return Float(text)
    default: return nil
    }
}

{% endif %}
{% if "Int" in parameter_types %}
/// Reads an integer layer parameter (nil when absent or not numeric).
private static func intParameter(_ parameters: [String: Any], _ key: String) -> Int? {
    switch parameters[key] {
    case let number as NSNumber: return number.intValue
    case let text as String: return Int(text)
    default: return nil
    }
}

{% endif %}
{% if "Bool" in parameter_types %}
/// Reads a Boolean layer parameter (nil when absent).
private static func boolParameter(_ parameters: [String: Any], _ key: String) -> Bool? {
    switch parameters[key] {
    case let number as NSNumber: return number.boolValue
    case let text as String: return Bool(text)
    default: return nil
    }
}

{% endif %}
{% if "String" in parameter_types %}
/// Reads a string layer parameter (nil when absent).
private static func stringParameter(_ parameters: [String: Any], _ key: String) -> String? {
    switch parameters[key] {
    case let text as String: return text
    case let number as NSNumber: return number.stringValue
    default: return nil
    }
}

{% endif %}
