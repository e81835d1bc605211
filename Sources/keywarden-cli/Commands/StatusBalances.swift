import KeywardenCore

/// The balances part of `status`: how many keys reported one, and a line per
/// key whose balance is running low — below `warnBelow` when given, else at
/// or below zero (the provider refuses calls then).
enum StatusBalances {
    static func lines(_ balances: [KeyBalanceEntry]?, warnBelow: Double? = nil) -> [String] {
        let reported = (balances ?? []).filter { $0.balance?.value != nil }
        guard !reported.isEmpty else { return [] }
        let low = reported.filter { entry in
            let value = entry.balance?.value ?? 0
            return warnBelow.map { value < $0 } ?? (value <= 0)
        }
        var lines = ["balances  \(reported.count) key\(reported.count == 1 ? "" : "s") reported"
            + (low.isEmpty ? ", none running low" : "; running low:")]
        for entry in low {
            let balance = entry.balance!
            lines.append("  \(entry.provider)/\(entry.scope) \(entry.keyID) (\(entry.state.rawValue)): \(balance.display), checked \(Output.time(balance.checkedAt))")
        }
        return lines
    }

    static func print(_ balances: [KeyBalanceEntry]?, warnBelow: Double? = nil, to output: Output) {
        for line in lines(balances, warnBelow: warnBelow) { output.line(DisplayText.sanitized(line)) }
    }
}
