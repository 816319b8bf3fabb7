import WardenCore
import WardenPolicies

extension PolicyFile.Categories {
    /// The categories of `bundle`: its labels, and the OpenAI category each answers under.
    public init(bundle: ModelBundle) {
        self.init(labels: bundle.labels, aliases: Dictionary(zip(bundle.categoryNames, bundle.labels), uniquingKeysWith: { first, _ in first }))
    }
}
