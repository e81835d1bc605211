/// Key checks: validate (many keys) and doctor (one key, stage by stage).
///
/// Both send keys to providers from the process that runs them — the agent
/// when one is up — so each request carries the caller's ``NetworkSettings``:
/// a check goes through the client's proxy and trusts the client's CA file,
/// whichever process makes it.
public enum Validation {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Validate.self, Doctor.self]

    /// Where a check that runs in this process reports its progress (keys
    /// done, keys in all); nil reports nothing. A task-local rather than a
    /// request field because a closure cannot travel: the agent checks
    /// without reporting, and the CLI sets it around an in-process call
    /// (`Validation.$progress.withValue(report) { … }`).
    @TaskLocal public static var progress: ValidationProgress?

    /// The `--timeout` of validate, doctor and rotate: the time one key gets,
    /// retries included, from 1 s to 1 h.
    public static func timeout(_ text: String) throws(KeywardenError) -> DurationSpec {
        try DurationSpec(option: "timeout", text, examples: timeoutExamples, range: timeoutRange)
    }

    static let timeoutRange: ClosedRange<Int64> = 1...3600
    static let timeoutExamples = "5s, 30s or 2m (at most 1h)"

    /// Refuses a time limit outside ``timeoutRange``, with the same message
    /// as the option: a request may come from another client than the CLI.
    static func check(_ limit: DurationSpec) throws(KeywardenError) {
        _ = try timeout(limit.description)
    }

    /// `validate`: checks the selected keys concurrently, stores each
    /// outcome on its key and in the audit trail, then fails over pools
    /// whose active key was found bad (where their policy says so).
    public struct Validate: ServiceOperation {
        public static let name = "validation.validate"
        public var provider: String?
        public var scope: String?
        public var keyID: String?
        /// Also retiring, revoked and failed keys (default: active, standby, pending).
        public var all: Bool
        /// Checks in flight at once (1–1024).
        public var concurrency: Int
        /// Checks in flight at once per provider (1–1024; nil: `concurrency`).
        public var perProvider: Int?
        /// Per key, retries included.
        public var timeout: DurationSpec
        public var network: NetworkSettings

        enum CodingKeys: String, CodingKey {
            case provider, scope, keyID = "key_id", all, concurrency, perProvider = "per_provider", timeout, network
        }

        public init(provider: String?, scope: String?, keyID: String?, all: Bool, concurrency: Int, perProvider: Int?,
                    timeout: DurationSpec, network: NetworkSettings) {
            (self.provider, self.scope, self.keyID, self.all) = (provider, scope, keyID, all)
            (self.concurrency, self.perProvider, self.timeout, self.network) = (concurrency, perProvider, timeout, network)
        }

        /// Refuses limits out of range before anything is opened or sent.
        public func checkLimits() throws(KeywardenError) {
            try Validation.check(timeout)
            guard (1...1024).contains(concurrency) else { throw KeywardenError(.invalidInput, "invalid --concurrency \(concurrency): use 1 to 1024") }
            if let perProvider, !(1...1024).contains(perProvider) {
                throw KeywardenError(.invalidInput, "invalid --per-provider \(perProvider): use 1 to 1024")
            }
        }

        public func run(in session: ServiceSession) async throws -> ValidationRun {
            try checkLimits()
            let selection = ValidationSelection(provider: provider, scope: scope, keyID: keyID, all: all)
            let keys = try await session.vault { vault in try vault.keysToCheck(selection) }
            let validator = Validator(client: network.client, timeout: .seconds(timeout.seconds), concurrency: concurrency, perProvider: perProvider)
            let progress = Validation.progress
            // Consumed: each key's guarded memory goes as soon as its check ends.
            let checks = await validator.check(consume keys) { done, total in progress?.report(done, total) }
            let failovers = try await session.vault { vault in
                try vault.recordChecks(checks, by: "validate")
                return try vault.failover(after: checks)
            }
            return ValidationRun(checks: checks, failovers: failovers)
        }
    }

    /// `doctor`: one key through every stage (proxy, DNS, TCP, TLS, the
    /// probe), with a verdict naming the first that fails; the check is
    /// stored like validate's.
    public struct Doctor: ServiceOperation {
        public static let name = "validation.doctor"
        /// The provider whose active key is diagnosed (with `scope` when it
        /// has active keys in several); ignored when `keyID` is given.
        public var provider: String?
        public var scope: String?
        public var keyID: String?
        /// For the whole check.
        public var timeout: DurationSpec
        public var network: NetworkSettings

        enum CodingKeys: String, CodingKey { case provider, scope, keyID = "key_id", timeout, network }

        public init(provider: String?, scope: String?, keyID: String?, timeout: DurationSpec, network: NetworkSettings) {
            (self.provider, self.scope, self.keyID, self.timeout, self.network) = (provider, scope, keyID, timeout, network)
        }

        public func run(in session: ServiceSession) async throws -> Diagnosis {
            try Validation.check(timeout)
            let item = try await session.vault { vault in try pickKey(vault) }
            let diagnosis = await Diagnosis.run(item, client: network.client, timeout: .seconds(timeout.seconds), environment: network.variables)
            try await session.vault { vault in try vault.recordChecks([diagnosis.check], by: "doctor", verdict: { _ in diagnosis.verdict }) }
            return diagnosis
        }

        /// The key named by id, else the provider's only active key (in `scope`).
        func pickKey(_ vault: Vault) throws(KeywardenError) -> KeyToCheck {
            if let keyID { return try vault.keysToCheck(ValidationSelection(keyID: keyID))[0] }
            guard let provider else { throw KeywardenError(.invalidInput, "name a provider (with --scope) or a key (--key ID)") }
            let candidates = try vault.keysToCheck(ValidationSelection(provider: provider, scope: scope)).filter { $0.key.state == .active }
            guard let first = candidates.first else {
                throw KeywardenError(.notFound, "no active \(provider) key\(scope.map { " in scope \($0)" } ?? ""); see `keywarden key list --provider \(provider)`")
            }
            guard candidates.count == 1 else {
                throw KeywardenError(.invalidInput, "\(provider) has active keys in several scopes (\(candidates.map(\.key.scope).joined(separator: ", "))); choose one with --scope")
            }
            return first
        }
    }
}

/// What `validate` found: one check per key, in the order checked, and the
/// failovers they caused.
public struct ValidationRun: Codable, Sendable {
    public var checks: [KeyCheck]
    public var failovers: [ReportResult]

    public init(checks: [KeyCheck], failovers: [ReportResult]) {
        self.checks = checks
        self.failovers = failovers
    }
}

extension KeywardenService {
    public func validate(_ request: Validation.Validate) async throws -> ValidationRun { try await perform(request) }
    public func diagnose(_ request: Validation.Doctor) async throws -> Diagnosis { try await perform(request) }
}

/// A progress report (keys done, keys in all), in a struct because Swift
/// 6.3.1 miscompiles a `@TaskLocal` that holds an optional closure directly:
/// in optimized builds the value's type metadata comes out null and
/// `withValue` crashes (SIGSEGV in swift_task_localValuePush), which made
/// `keywarden validate` crash in every release build. A struct is not affected.
public struct ValidationProgress: Sendable {
    public var report: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(_ report: @escaping @Sendable (_ done: Int, _ total: Int) -> Void) { self.report = report }
}

extension TaskLocal where Value == ValidationProgress? {
    /// Runs `operation` with `report` as the task's progress report; lets a
    /// caller pass the closure itself, as it did when the task-local held it.
    public func withValue<R>(_ report: @escaping @Sendable (_ done: Int, _ total: Int) -> Void, operation: () async throws -> R,
                             isolation: isolated (any Actor)? = #isolation, file: String = #fileID, line: UInt = #line) async rethrows -> R {
        try await withValue(ValidationProgress(report), operation: operation, isolation: isolation, file: file, line: line)
    }
}
