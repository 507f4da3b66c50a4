import Foundation

/// open_clip's default text cleaning (`clean="lower"`), reproduced with Foundation only.
///
/// open_clip's `basic_clean` runs `ftfy.fix_text`, then `html.unescape` twice, and strips;
/// `whitespace_clean` collapses whitespace; then it lower-cases. This type does the same, in
/// the same order, with the tables ``TextCleaningTables`` generated from Python and ftfy:
///
/// 1. ftfy's `fix_text`, line by line (each segment ends after a `\n`); once a line contains
///    `<`, HTML unescaping is off for it and every later line (ftfy's `unescape_html="auto"`).
///    Each line is fixed until nothing changes, each pass applying:
///    - ftfy's `unescape_html`: `&name;` only with its `;` (HTML5 names, and ftfy's upper-case
///      spellings such as `&NTILDE;`), and `&#NN;` / `&#xHH;` only where `html.unescape`
///      consumes the `;`;
///    - `fix_c1_controls` (U+0080–U+009F read as Windows-1252: U+0085 becomes `…`),
///      `fix_latin_ligatures`, `fix_character_width`, `uncurl_quotes`, `fix_line_breaks`,
///      `remove_terminal_escapes` (ANSI `ESC [ … letter`), `remove_control_chars` (C0 controls
///      but tab/newline/form feed/CR, DEL, U+206A–U+206F, the BOM U+FEFF, U+FFF9–U+FFFC),
///      and NFC.
/// 2. Python's `html.unescape`, twice: `&` then `#digits`, `#x` hex digits (each `;` optional;
///    references to 0x80–0x9F remapped as Windows-1252, surrogates and values past U+10FFFF
///    become U+FFFD, non-characters and most controls are dropped), or 1–32 characters other
///    than tab, newline, form feed, space, `<`, `&`, `#`, `;` with an optional `;`: an HTML5 name
///    (`&copy;`), else the longest HTML5 name without `;` that prefixes it (`&amp chips`,
///    `&copyright` → `©right`), else left as it is.
/// 3. Python's `" ".join(text.split())` (Unicode White_Space plus U+001C...U+001F) and
///    `str.lower()`, including the Greek final-sigma rule.
///
/// Not reproduced: ftfy's mojibake repair (`fix_encoding`, which re-decodes text such as
/// `Ã©` that was UTF-8 read as Latin-1) and surrogate repair (Swift strings cannot hold lone
/// surrogates). Text with mojibake tokenises differently from open_clip; everything else,
/// including the edge cases in the test vectors, the same.
enum CLIPTextCleaner {
    /// The cleaned text that the pre-tokeniser splits.
    static func clean(_ text: String) -> String {
        let unescaped = unescapeHTML(unescapeHTML(fixText(text)))
        return lowercased(collapsingWhitespace(unescaped))
    }

    /// Python's `str.isspace()`: Unicode White_Space plus the four information separators.
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    // MARK: - Tables

    /// The generated tables, parsed once (static lets are initialised lazily and thread-safely).
    private static let html5Entities = textTable(TextCleaningTables.html5Entities)
    private static let ftfyUppercaseEntities = textTable(TextCleaningTables.ftfyUppercaseEntities)
    private static let invalidCharacterReferences = scalarTable(TextCleaningTables.invalidCharacterReferences)
    private static let invalidCodePoints = Set(scalarTable(TextCleaningTables.invalidCodePoints).keys)
    private static let c1Controls = scalarTable(TextCleaningTables.c1Controls)
    private static let ligatures = scalarTable(TextCleaningTables.ligatures)
    private static let widths = scalarTable(TextCleaningTables.widths)
    private static let controlCharacters = Set(scalarTable(TextCleaningTables.controlCharacters).keys)

    /// `key<TAB>hex hex…` lines → key → the text of those code points.
    private static func textTable(_ table: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            result[String(parts[0])] = parts.count > 1 ? decodeScalars(parts[1]) : ""
        }
        return result
    }

    /// `hex<TAB>hex hex…` lines → code point → text.
    private static func scalarTable(_ table: String) -> [UInt32: String] {
        var result: [UInt32: String] = [:]
        for (key, value) in textTable(table) {
            if let code = UInt32(key, radix: 16) {
                result[code] = value
            }
        }
        return result
    }

    private static func decodeScalars(_ hex: Substring) -> String {
        var scalars = String.UnicodeScalarView()
        for part in hex.split(separator: " ") {
            if let value = UInt32(part, radix: 16), let scalar = Unicode.Scalar(value) {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    // MARK: - ftfy.fix_text

    /// ftfy's `fix_text` with its default configuration, less mojibake repair.
    static func fixText(_ text: String) -> String {
        var result = ""
        var unescapes = true
        var segment: [Unicode.Scalar] = []
        func flush() {
            if unescapes && segment.contains("<") {
                unescapes = false  // ftfy keeps it off for the rest of the text
            }
            result += fixSegment(segment, unescapingHTML: unescapes)
            segment.removeAll()
        }
        for scalar in text.unicodeScalars {
            segment.append(scalar)
            if scalar == "\n" {
                flush()
            }
        }
        if !segment.isEmpty {
            flush()
        }
        return result
    }

    /// ftfy's fixes applied to one line until it stops changing.
    private static func fixSegment(_ segment: [Unicode.Scalar], unescapingHTML: Bool) -> String {
        var text = segment
        while true {
            var fixed = unescapingHTML ? ftfyUnescape(text) : text
            fixed = fixed.flatMap { scalar -> [Unicode.Scalar] in
                let value = scalar.value
                if let replacement = c1Controls[value] ?? ligatures[value] {
                    return Array(replacement.unicodeScalars)
                }
                return [scalar]
            }
            fixed = fixed.flatMap { scalar -> [Unicode.Scalar] in
                widths[scalar.value].map { Array($0.unicodeScalars) } ?? [uncurled(scalar)]
            }
            fixed = removingTerminalEscapes(unifyingLineBreaks(fixed))
            fixed.removeAll { controlCharacters.contains($0.value) }
            let normalized = Array(
                String(String.UnicodeScalarView(fixed)).precomposedStringWithCanonicalMapping.unicodeScalars
            )
            if normalized == text {
                return String(String.UnicodeScalarView(normalized))
            }
            text = normalized
        }
    }

    /// ftfy's `uncurl_quotes`.
    private static func uncurled(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x02BC, 0x2018...0x201B: return "'"
        case 0x201C...0x201F: return "\""
        default: return scalar
        }
    }

    /// ftfy's `fix_line_breaks`: CRLF, CR, U+2028, U+2029 and U+0085 become `\n`.
    private static func unifyingLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            switch text[index].value {
            case 0x0D:
                result.append("\n")
                if index + 1 < text.count, text[index + 1] == "\n" {
                    index += 1
                }
            case 0x2028, 0x2029, 0x85:
                result.append("\n")
            default:
                result.append(text[index])
            }
            index += 1
        }
        return result
    }

    /// ftfy's `remove_terminal_escapes`: `ESC [`, decimal digits and `;`s, then one ASCII letter.
    private static func removingTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("\u{1B}") else {
            return text
        }
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < text.count {
            if text[index] == "\u{1B}", index + 1 < text.count, text[index + 1] == "[" {
                var end = index + 2
                // Python's `\d` is any decimal digit (category Nd), not only ASCII.
                while end < text.count, text[end].properties.generalCategory == .decimalNumber || text[end] == ";" {
                    end += 1
                }
                if end < text.count, isASCIILetter(text[end]) {
                    index = end + 1
                    continue
                }
            }
            result.append(text[index])
            index += 1
        }
        return result
    }

    /// ftfy's `unescape_html`: `&#?[0-9A-Za-z]{1,24};`, left to right.
    private static func ftfyUnescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else {
            return text
        }
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < text.count {
            if text[index] == "&" {
                var start = index + 1
                if start < text.count, text[start] == "#" {
                    start += 1
                }
                var end = start
                while end < text.count, end - start < 24, isASCIIDigit(text[end]) || isASCIILetter(text[end]) {
                    end += 1
                }
                if end > start, end < text.count, text[end] == ";" {
                    let reference = Array(text[index...end])
                    result += ftfyReplacement(reference)
                    index = end + 1
                    continue
                }
            }
            result.append(text[index])
            index += 1
        }
        return result
    }

    /// The text ftfy puts for one `&…;` match (the match itself when it knows none).
    private static func ftfyReplacement(_ reference: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let name = String(String.UnicodeScalarView(reference.dropFirst()))
        if let named = html5Entities[name] ?? ftfyUppercaseEntities[name] {
            return Array(named.unicodeScalars)
        }
        if reference.count > 1, reference[1] == "#" {
            let unescaped = unescapeHTML(reference)
            return unescaped.contains(";") ? reference : unescaped
        }
        return reference
    }

    // MARK: - html.unescape

    /// One pass of Python's `html.unescape`, left to right, never re-reading a replacement.
    static func unescapeHTML(_ text: String) -> String {
        guard text.contains("&") else {
            return text
        }
        return String(String.UnicodeScalarView(unescapeHTML(Array(text.unicodeScalars))))
    }

    private static func unescapeHTML(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            guard text[index] == "&", index + 1 < text.count else {
                result.append(text[index])
                index += 1
                continue
            }
            if text[index + 1] == "#" {
                if let (replacement, end) = numericReference(text, from: index + 2) {
                    result += replacement
                    index = end
                } else {  // `&#` without digits: no alternative of Python's pattern matches
                    result.append("&")
                    index += 1
                }
                continue
            }
            let (replacement, end) = namedReference(text, from: index + 1)
            result += replacement
            index = end
        }
        return result
    }

    /// `#[0-9]+;?` or `#[xX][0-9a-fA-F]+;?` (after the `#` at `start - 1`): its text and where it ends.
    private static func numericReference(_ text: [Unicode.Scalar], from start: Int) -> ([Unicode.Scalar], Int)? {
        var digitsStart = start
        var radix = 10
        if start < text.count, text[start] == "x" || text[start] == "X" {
            radix = 16
            digitsStart += 1
        }
        var end = digitsStart
        while end < text.count, radix == 16 ? isASCIIHexDigit(text[end]) : isASCIIDigit(text[end]) {
            end += 1
        }
        guard end > digitsStart else {
            return nil
        }
        let digits = String(String.UnicodeScalarView(text[digitsStart..<end]))
        if end < text.count, text[end] == ";" {
            end += 1
        }
        // Python's int() has no upper bound; past 12 significant digits the value is far past
        // U+10FFFF either way, so it is clamped instead of overflowing.
        let significant = digits.drop { $0 == "0" }
        let value: UInt64 = significant.count > 12 ? .max : (UInt64(significant, radix: radix) ?? 0)
        if value <= 0xFF, let remapped = invalidCharacterReferences[UInt32(value)] {
            return (Array(remapped.unicodeScalars), end)
        }
        if (0xD800...0xDFFF).contains(value) || value > 0x10FFFF {
            return (["\u{FFFD}"], end)
        }
        if invalidCodePoints.contains(UInt32(value)) {
            return ([], end)
        }
        guard let scalar = Unicode.Scalar(UInt32(value)) else {
            return (["\u{FFFD}"], end)
        }
        return ([scalar], end)
    }

    /// What ends an entity name in `html.unescape`'s pattern.
    private static let nameStops: Set<Unicode.Scalar> = ["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"]

    /// `[^\t\n\f <&#;]{1,32};?` (after the `&` at `start - 1`): an HTML5 name, the longest HTML5
    /// name without `;` that prefixes it, or the text unchanged.
    private static func namedReference(_ text: [Unicode.Scalar], from start: Int) -> ([Unicode.Scalar], Int) {
        var end = start
        while end < text.count, end - start < 32, !nameStops.contains(text[end]) {
            end += 1
        }
        guard end > start else {
            return (["&"], start)
        }
        var name = Array(text[start..<end])
        if end < text.count, text[end] == ";" {
            name.append(";")
            end += 1
        }
        let whole = String(String.UnicodeScalarView(name))
        if let replacement = html5Entities[whole] {
            return (Array(replacement.unicodeScalars), end)
        }
        var length = name.count - 1
        while length > 1 {
            if let replacement = html5Entities[String(String.UnicodeScalarView(name[0..<length]))] {
                return (Array(replacement.unicodeScalars) + name[length...], end)
            }
            length -= 1
        }
        return (["&"] + name, end)
    }

    private static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar)
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isASCIIHexDigit(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIDigit(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)
    }

    // MARK: - Whitespace and case

    /// Python's `" ".join(text.split())`.
    static func collapsingWhitespace(_ text: String) -> String {
        text.unicodeScalars
            .split(whereSeparator: isPythonWhitespace)
            .map { String(String.UnicodeScalarView($0)) }
            .joined(separator: " ")
    }

    /// Python's `str.lower()`: full lower-case mappings, and capital sigma becomes final
    /// sigma after a cased letter that no cased letter follows.
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x03A3 {
                let sigma: Unicode.Scalar = isFinalSigma(at: index, in: scalars) ? "\u{03C2}" : "\u{03C3}"
                result.append(sigma)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    private static func isFinalSigma(at index: Int, in scalars: [Unicode.Scalar]) -> Bool {
        guard let before = scalars[..<index].last(where: { !$0.properties.isCaseIgnorable }),
              before.properties.isCased else {
            return false
        }
        guard let after = scalars[(index + 1)...].first(where: { !$0.properties.isCaseIgnorable }) else {
            return true
        }
        return !after.properties.isCased
    }
}
