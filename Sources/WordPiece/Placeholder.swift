// Temporary: replaced by the tokenizer's PlatformNormalizer.swift.
public enum TextNormalization: String, Sendable, Codable { case none, platformV1 = "platform-v1" }
