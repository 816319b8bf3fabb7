import Foundation
import Hummingbird
import NIOCore
import WardenAPI
import WardenCore
import WardenPolicies

extension WardenRoutes {
    /// `GET /v1/policies`: the named policies in force, in file order, each with the thresholds it applies
    /// (the model's default for categories it does not name) and the categories that flag under it.
    func policyList() throws -> Response {
        let set = configuration.policies?.current ?? PolicySet()
        let labels = engine.bundle.labels
        let names = engine.bundle.categoryNames
        let data = set.policies.map { policy in
            PolicyInfo(
                name: policy.name, description: policy.description, action: policy.action.rawValue,
                thresholds: Dictionary(
                    uniqueKeysWithValues: zip(labels, engine.bundle.thresholds).enumerated().map { index, pair in
                        (names[index], policy.thresholds[pair.0] ?? pair.1)
                    }),
                flagging: labels.indices.filter { policy.flags(labels[$0]) }.map { names[$0] })
        }
        let body = try JSONEncoder.warden.encode(PolicyList(data: data, defaultPolicy: set.defaultPolicy))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
