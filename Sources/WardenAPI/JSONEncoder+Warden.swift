import Foundation

extension JSONEncoder {
    /// How Warden writes JSON bodies: keys sorted (stable, diffable answers) and `/` unescaped (category
    /// names such as `self-harm/intent` read as they are).
    public static var warden: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
