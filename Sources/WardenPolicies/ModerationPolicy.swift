/// What a client is advised to do with a message a policy flags. Warden only reports the hint; the client
/// (a chat server) acts on it.
public enum PolicyAction: String, Sendable, Codable, CaseIterable {
    /// Let the message through; the flags are for the record only.
    case allow
    /// Let the message through with the words that made it flagged replaced (ask for `explain` to get them).
    case mask
    /// Hold the message back until a moderator has reviewed it.
    case hold
    /// Refuse the message.
    case block

    /// The action names, for error messages and help.
    public static var knownNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// One named threshold set: what flags a message for one community (a children's server, a workplace).
public struct ModerationPolicy: Sendable, Equatable {
    /// The name a request or an API key selects it by (`"policy": "kids"`).
    public var name: String
    /// Free text for people reading `GET /v1/policies`.
    public var description: String?
    /// Decision thresholds by model label (0...1), overriding the model's defaults; labels not named keep them.
    public var thresholds: [String: Float]
    /// The labels that may flag a message under this policy; nil: every label. Labels left out are still
    /// scored and reported, but never flagged.
    public var flagging: Set<String>?
    /// What a client should do with a message this policy flags.
    public var action: PolicyAction

    public init(
        name: String, description: String? = nil, thresholds: [String: Float] = [:], flagging: Set<String>? = nil,
        action: PolicyAction = .block
    ) {
        self.name = name
        self.description = description
        self.thresholds = thresholds
        self.flagging = flagging
        self.action = action
    }

    /// Whether `label` may flag a message under this policy.
    public func flags(_ label: String) -> Bool { flagging?.contains(label) ?? true }
}

/// The policies of one policies file: the named policies in file order, the one used when a request names
/// none, and the default policy of some API keys.
public struct PolicySet: Sendable, Equatable {
    /// The policies, in the order the file lists them.
    public var policies: [ModerationPolicy]
    /// The policy of a request that names none and whose API key carries none; nil: the model's thresholds.
    public var defaultPolicy: String?
    /// API key → the policy its requests get when they name none.
    public var keyPolicies: [String: String]

    public init(policies: [ModerationPolicy] = [], defaultPolicy: String? = nil, keyPolicies: [String: String] = [:]) {
        self.policies = policies
        self.defaultPolicy = defaultPolicy
        self.keyPolicies = keyPolicies
    }

    /// The policy called `name`, if any.
    public func policy(named name: String) -> ModerationPolicy? { policies.first { $0.name == name } }

    /// The policy that decides a request: the one it names, else its API key's, else the default; nil when
    /// none applies (the model's own thresholds decide).
    /// - Throws: ``UnknownPolicyError`` when the request names a policy this set does not hold.
    public func select(requested: String?, apiKey: String?) throws(UnknownPolicyError) -> ModerationPolicy? {
        if let requested {
            guard let policy = policy(named: requested) else {
                throw UnknownPolicyError(name: requested, known: policies.map(\.name))
            }
            return policy
        }
        if let apiKey, let name = keyPolicies[apiKey], let policy = policy(named: name) { return policy }
        return defaultPolicy.flatMap(policy(named:))
    }
}

/// A request named a policy that is not configured.
public struct UnknownPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name the request gave.
    public var name: String
    /// The configured policy names.
    public var known: [String]

    public init(name: String, known: [String]) {
        self.name = name
        self.known = known
    }

    public var description: String {
        known.isEmpty
            ? "no policy called \"\(name)\": this server has no policies configured (start it with --policies FILE)."
            : "no policy called \"\(name)\"; the policies are: \(known.joined(separator: ", "))."
    }
}
