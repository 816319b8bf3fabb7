import Logging
import WardenAPI

/// What a chat server should do with a message, after Warden scored it or failed to.
public enum Verdict: Sendable, Equatable {
    /// Warden scored the text and flagged nothing: deliver it.
    case allow(ModerationResult)
    /// Warden flagged the text: do not deliver it; ``ModerationResult/flaggedLabels`` says why.
    case block(ModerationResult)
    /// Warden could not score the text. `policy` decides: `.failOpen` delivers it (and it was reported),
    /// `.failClosed` refuses it. ``shouldDeliver`` applies that rule.
    case unscored(reason: WardenClientError, policy: WardenClient.FailurePolicy)

    /// True for `.allow`, and for `.unscored` under `.failOpen`.
    public var shouldDeliver: Bool {
        switch self {
        case .allow: true
        case .block: false
        case .unscored(_, let policy): policy == .failOpen
        }
    }

    /// The scores, when Warden gave them.
    public var result: ModerationResult? {
        switch self {
        case .allow(let result), .block(let result): result
        case .unscored: nil
        }
    }
}

extension ModerationResult {
    /// Warden scored only part of the text (``truncated``: longer than the model covers, cut or with more windows
    /// than it allows): something in the part not scored was not seen. ``windows`` says how many were scored.
    public var isPartlyScored: Bool { truncated == true }

    /// The labels Warden flagged, sorted by name.
    public var flaggedLabels: [String] {
        categories.filter(\.value).map(\.key).sorted()
    }
}

extension WardenClient {
    /// Scores one chat message and applies the failure policy; never throws.
    ///
    /// When Warden cannot answer (after retries), the text is ``Verdict/unscored(reason:policy:)``: the failure is
    /// logged as a warning and passed to ``Configuration/onEvent`` as ``WardenClientEvent/unscored(reason:policy:)``,
    /// so that unscored deliveries under `.failOpen` are never silent. A text Warden scored only in part and found
    /// nothing in is decided by ``Configuration/partlyScored`` and reported the same way, as
    /// ``WardenClientEvent/partlyScored(_:policy:)``.
    /// - Parameter options: Defaults to the interactive lane.
    public func screen(_ text: String, options: ModerationOptions = .interactive) async -> Verdict {
        do {
            return verdict(for: try await moderate(text, options: options))
        } catch {
            return unscored(error)
        }
    }

    /// Scores several texts and applies the failure policy to all of them when the call fails.
    /// - Parameter options: Defaults to the bulk lane.
    public func screen(_ texts: [String], options: ModerationOptions = .bulk) async -> [Verdict] {
        do {
            let results = try await moderate(texts, options: options)
            return results.map(verdict(for:))
        } catch {
            let verdict = unscored(error)
            return Array(repeating: verdict, count: texts.count)
        }
    }

    /// The verdict on a result: flagged blocks; a partly scored text with nothing flagged follows the
    /// partly-scored policy and is reported; else allow.
    private func verdict(for result: ModerationResult) -> Verdict {
        if result.flagged { return .block(result) }
        guard result.isPartlyScored else { return .allow(result) }
        let policy = configuration.partlyScored
        configuration.logger.warning(
            "Text scored only in part by Warden",
            metadata: [
                "windows": "\(result.windows.map(String.init) ?? "?")", "policy": "\(policy.rawValue)",
                "action": "\(policy == .allow ? "allowed" : "treated as unscored (\(configuration.failurePolicy.rawValue))")",
            ])
        configuration.onEvent?(.partlyScored(result, policy: policy))
        switch policy {
        case .allow: return .allow(result)
        case .unscored: return .unscored(reason: .partlyScored(windows: result.windows), policy: configuration.failurePolicy)
        }
    }

    private func unscored(_ error: WardenClientError) -> Verdict {
        let policy = configuration.failurePolicy
        configuration.logger.warning(
            "Text not scored by Warden",
            metadata: [
                "error": "\(error.code)", "policy": "\(policy.rawValue)",
                "action": "\(policy == .failOpen ? "delivered unscored" : "refused")", "detail": "\(error.message)",
            ])
        configuration.onEvent?(.unscored(reason: error, policy: policy))
        return .unscored(reason: error, policy: policy)
    }
}
