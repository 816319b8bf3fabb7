import ArgumentParser
import Logging
import ServiceLifecycle
import WardenCore
import WardenGateway
import WardenPolicies
import WardenServer

extension ServeCommand {
    /// The policies of `--policies` (else `WARDEN_POLICIES`), checked against the served model; nil when
    /// none is given. A mistake stops the start with the file, the line and the field.
    func policyStore(bundle: ModelBundle, logger: Logger) throws -> PolicyStore? {
        guard let path = Setting.resolve(policies, env: "WARDEN_POLICIES") else { return nil }
        do {
            let store = try PolicyStore(file: PolicyFile(path: path, categories: .init(bundle: bundle)), logger: logger)
            logger.info("policies loaded", metadata: ["file": "\(path)", "policies": "\(store.current.policies.map(\.name).joined(separator: ","))"])
            return store
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The service that reloads the policies on SIGHUP, when there are policies.
    func policyServices(_ configuration: ServerConfiguration) -> [any Service] {
        configuration.policies.map { [PolicyReloadService(store: $0)] } ?? []
    }
}
