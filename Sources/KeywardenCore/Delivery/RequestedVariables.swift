import KeywardenLaunch
import Foundation

/// Which variables a delivery command asked for (`--only A,B`), and the check
/// that an agent's answer holds exactly those.
public enum RequestedVariables {
    /// The names of `--only` (comma-separated, spaces around names ignored),
    /// or nil without the option.
    public static func parse(only text: String?) throws(KeywardenError) -> [String]? {
        guard let text else { return nil }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw KeywardenError(.invalidInput, "--only needs at least one variable name") }
        for name in names where !Names.isEnvironmentVariable(name) {
            throw KeywardenError(.invalidInput, "invalid variable name '\(name)' in --only")
        }
        return names
    }

    /// Accepts only what was asked for: with `only`, exactly those names;
    /// without, any name except one that changes how programs load (`PATH`,
    /// `LD_PRELOAD`, …), which must be asked for by name. Whatever listens at
    /// the agent's socket decides these answers, so `run` must not let it
    /// choose the child's loader.
    public static func check(_ names: [String], only: [String]?) throws(KeywardenError) {
        switch DeliveredVariables.problem(names, only: only) {
        case nil: return
        case .failed(let message)?: throw KeywardenError(.failed, message)
        case .invalidInput(let message)?: throw KeywardenError(.invalidInput, message)
        }
    }
}
