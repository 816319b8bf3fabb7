/// The help of `warden compare`, beside the run it describes.
public enum CompareHelp {
    /// The script that draws the chart of --png.
    public static let chartScript = "scripts/compare_chart.py"

    public static let abstract = "Score one file with two models and report where their decisions differ (a model upgrade's review)."
    public static let discussion = """
        Both models score every record of FILE (any input `warden score` reads), one after the other, with \
        the same engine settings. The categories compared are those the models share: the same label, the \
        same OpenAI category, or a former name one model's manifest maps to a label of the other.

        The report gives, per category, each model's flag rate, how often they agree, the records only one \
        of them flags and the mean and largest score difference; then the records whose decisions differ \
        most. --json writes it as JSON (- for standard output), --png draws model A's score against model \
        B's per category (needs python3-matplotlib).

        Exit status: 0 compared; 1 a model or the input could not be used; 130 interrupted; 64 invalid options.
        """
    public static let modelA = "Model A's bundle folder (the model in service)."
    public static let modelB = "Model B's bundle folder (the candidate)."
    public static let top = "How many of the largest disagreements the report lists (default \(CompareRun(modelA: "", modelB: "", input: "").top))."
    public static let json = "Write the report as JSON to this file (- for standard output, instead of the table)."
    public static let png = "Write a chart of model A's score against model B's, per category, with \(chartScript), to this PNG file."
    public static let quiet = "No progress and no summary lines on standard error."
}
