import WardenCore
import WardenGateway

/// The help of `warden serve`'s flags, beside the settings they set: each default is quoted from
/// ``ServerConfiguration``.
public enum ServeHelp {
    public static let host = "Address to bind (env WARDEN_HOST; default \(ServerConfiguration().host))."
    public static let port = "Port to bind, 0 for any free port (env WARDEN_PORT; default \(ServerConfiguration().port))."
    public static let maxBodyBytes = "Largest request body in bytes (env WARDEN_MAX_BODY_BYTES; default \(ServerConfiguration().limits.maxBodyBytes))."
    public static let maxInputs = "Most texts per request (env WARDEN_MAX_INPUTS; default \(ServerConfiguration().limits.maxInputs))."
    public static let bodyTimeoutS =
        "Close a request whose body has not fully arrived this many seconds after its head (env WARDEN_BODY_TIMEOUT_S; default \(Int(ServerConfiguration().bodyTimeout.seconds)))."
    public static let maxConnections =
        "Most open connections; past it a request is answered 503 too_many_connections (env WARDEN_MAX_CONNECTIONS; default \(ServerConfiguration().maxConnections), lowered to fit the process's file limit)."
    public static let drainTimeoutS =
        "On SIGTERM/SIGINT, seconds to finish the requests in flight before closing the rest (env WARDEN_DRAIN_TIMEOUT_S; default \(Int(ServerConfiguration().drainTimeout.seconds)))."
    public static let apiKeys =
        "An accepted API key (repeatable; env WARDEN_API_KEYS, comma-separated). No key: no authentication. A key on the command line is visible in the process list: prefer WARDEN_API_KEYS or --api-key-file."
    public static let apiKeyFile = "File with one accepted API key per line (env WARDEN_API_KEY_FILE)."
    public static let policies =
        "Policies file (YAML or JSON): named threshold sets a request chooses with \"policy\", listed at GET /v1/policies; reloaded on SIGHUP (env WARDEN_POLICIES; default none)."
    public static let noUI = "Do not serve the page to try moderation at GET / (env WARDEN_NO_UI)."
    public static let protectMetrics = "Require an API key for /metrics too (env WARDEN_PROTECT_METRICS)."
    public static let shadowModel =
        "A candidate model bundle that scores a sample of requests again after they are answered, never changing or delaying a response; /metrics shows where it disagrees (env WARDEN_SHADOW_MODEL)."
    public static let shadowRate = "Share of requests the shadow model scores, above 0 and at most 1 (env WARDEN_SHADOW_RATE; default 0.1)."
    public static let shadowLog =
        "Append the texts where the shadow model decides differently to this file as JSON Lines, with a SHA-256 of each text (env WARDEN_SHADOW_LOG)."
    public static let shadowLogText = "Write the texts themselves to --shadow-log, not only their hashes (env WARDEN_SHADOW_LOG_TEXT)."
    public static let shadowNice =
        "Nice value of the shadow model's threads, 0 to 19: at 19 it computes only on CPU time the served model leaves idle, and drops samples under load (env WARDEN_SHADOW_NICE; default 19)."
    public static let adminReload =
        "Enable POST /admin/reload, which reloads the model from --model without a restart (as SIGHUP does); it needs API keys (env WARDEN_ADMIN_RELOAD)."
}
