import Foundation
import NATSClient
import WardenAPI
import WardenCore
import WardenGateway

/// The headers a verdict carries besides its body (the `/v1/moderations` response or error JSON).
public enum VerdictHeader {
    /// `<stream>-<stream sequence>` of the source: JetStream drops a second verdict for the same message.
    public static let messageID = "Nats-Msg-Id"
    /// The source message's stream, sequence, subject, and how many times it had been delivered.
    public static let stream = "Warden-Stream"
    public static let sequence = "Warden-Sequence"
    public static let subject = "Warden-Subject"
    public static let delivered = "Warden-Delivered"
    /// `200`, or the error's HTTP-like status (then the body is an error body).
    public static let status = "Warden-Status"
    /// The error code of an error verdict (`invalid_json`, `empty_text`…).
    public static let errorCode = "Warden-Error-Code"

    /// The micro protocol's error headers on a request/reply answer.
    public static let serviceErrorCode = "Nats-Service-Error-Code"
    public static let serviceError = "Nats-Service-Error"
}

/// The payload and headers of a verdict: a response, or an error.
struct Verdict {
    var status: Int
    var payload: [UInt8]
    var errorCode: String?
    var errorMessage: String?

    static func success(_ response: WardenAPI.ModerationResponse) throws -> Verdict {
        Verdict(status: 200, payload: Array(try JSONEncoder.warden.encode(response)))
    }

    static func failure(_ fault: ModerationFault) -> Verdict {
        let payload =
            (try? JSONEncoder.warden.encode(fault.body)).map(Array.init)
            ?? Array(#"{"error":{"message":"error","type":"server_error","param":null,"code":"internal_error"}}"#.utf8)
        return Verdict(status: fault.status, payload: payload, errorCode: fault.code.rawValue, errorMessage: fault.message)
    }
}
