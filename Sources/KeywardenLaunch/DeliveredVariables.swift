/// What `run` accepts from an agent: valid names, each once, and only what
/// was asked for. With `only`,
/// exactly those names; without, any name except one that changes how
/// programs load (`PATH`, `LD_PRELOAD`, …), which must be asked for by name.
/// Whatever listens at the agent's socket decides these answers, so `run`
/// must not let it choose the child's loader. (KeywardenCore's
/// `RequestedVariables.check` is this check with Keywarden's error type.)
public enum DeliveredVariables {
    public enum Problem: Equatable, Sendable {
        /// The agent sent something it should not have: exit 1.
        case failed(String)
        /// A loader variable nobody asked for: exit 2.
        case invalidInput(String)
    }

    public static func problem(_ names: [String], only: [String]?) -> Problem? {
        // A name setenv would refuse or mangle (`A=B`, empty) is used by nobody.
        if let bad = names.first(where: { !EnvironmentVariableName.isValid($0) }) {
            return .failed("the agent sent an invalid variable name '\(bad.prefix(80))'; nothing was used")
        }
        if Set(names).count != names.count {
            return .failed("the agent sent a variable twice; nothing was used")
        }
        if let only {
            let wanted = Set(only)
            if let extra = names.first(where: { !wanted.contains($0) }) {
                return .failed("the agent sent \(extra), which was not asked for; nothing was used")
            }
            if let missing = only.first(where: { !names.contains($0) }) {
                return .failed("the agent did not send \(missing); nothing was used")
            }
            return nil
        }
        if let loader = names.first(where: LoaderVariables.contains) {
            return .invalidInput("the agent sent \(loader), which changes how programs load; it is used only when asked for by name (--only \(loader),…)")
        }
        return nil
    }
}
