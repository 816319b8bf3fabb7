import ArgumentParser
import Logging
import WardenCore
import WardenGateway
import WardenPolicies

/// The policies of `--policies FILE` (else `WARDEN_POLICIES`), shared by `serve` and `worker`.
enum PolicyOption {
    /// The policies of `flag` (else `WARDEN_POLICIES`), checked against the served model; nil when none is
    /// given. A mistake stops the start with the file, the line and the field.
    static func store(_ flag: String?, bundle: ModelBundle, logger: Logger) throws -> PolicyStore? {
        guard let path = Setting.resolve(flag, env: "WARDEN_POLICIES") else { return nil }
        do {
            let store = try PolicyStore(file: PolicyFile(path: path, categories: .init(bundle: bundle)), logger: logger)
            logger.info("policies loaded", metadata: ["file": "\(path)", "policies": "\(store.current.policies.map(\.name).joined(separator: ","))"])
            return store
        } catch {
            throw ValidationError(error.description)
        }
    }
}
