import ArgumentParser
import Logging
import WardenCore
import WardenGateway
import WardenServer

/// `--shadow-model` and its settings, shared by `serve` and `worker`: a candidate model that scores a sample
/// of what the served model answered, on CPU time the served model leaves idle.
struct ShadowOptions: ParsableArguments {
    @Option(help: ArgumentHelp(ServeHelp.shadowModel)) var shadowModel: String?
    @Option(help: ArgumentHelp(ServeHelp.shadowRate)) var shadowRate: Double?
    @Option(help: ArgumentHelp(ServeHelp.shadowLog)) var shadowLog: String?
    @Flag(help: ArgumentHelp(ServeHelp.shadowLogText)) var shadowLogText = false
    @Option(help: ArgumentHelp(ServeHelp.shadowNice)) var shadowNice: Int?

    /// The shadow scorer of `--shadow-model` (nil without one): its own engine, with the served model's
    /// runtime and batching settings from `engine`. Run it as a service beside the served engine.
    func makeShadow(comparingWith primary: ModerationEngine, engine: EngineOptions, logger: Logger) throws -> ShadowScorer? {
        guard let directory = Setting.resolve(shadowModel, env: "WARDEN_SHADOW_MODEL") else {
            if shadowLog != nil || shadowRate != nil || shadowNice != nil {
                throw ValidationError("--shadow-rate, --shadow-log and --shadow-nice need --shadow-model")
            }
            return nil
        }
        var shadowLogger = logger
        shadowLogger[metadataKey: "model_role"] = "shadow"
        let nice = try Setting.resolve(shadowNice, env: "WARDEN_SHADOW_NICE", default: 19)
        guard (0...19).contains(nice) else { throw ValidationError("--shadow-nice must be between 0 and 19") }
        let shadowEngine = try engine.makeEngine(logger: shadowLogger, directory: directory, metricsPrefix: "warden_shadow", threadNice: Int32(nice))
        let rate = try Setting.resolve(shadowRate, env: "WARDEN_SHADOW_RATE", default: 0.1)
        do {
            let log = try Setting.resolve(shadowLog, env: "WARDEN_SHADOW_LOG").map {
                try ShadowLog(path: $0, includesText: try Setting.resolveFlag(shadowLogText, env: "WARDEN_SHADOW_LOG_TEXT"))
            }
            return try ShadowScorer(engine: shadowEngine, comparingWith: primary.initialBundle, rate: rate, log: log, logger: shadowLogger)
        } catch let error as ShadowError {
            throw ValidationError(error.description)
        }
    }
}
