/// Operations on delivery (a scope's environment and variable names, exported files, import).
///
/// Templates (`inject`, `run --env-file`) are rendered by the caller from
/// ``Environment`` and ``VariableNames`` (see ``TemplateDelivery``): the template and
/// the literal values of an env file stay in the caller's process.
public enum Delivery {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Environment.self, VariableNames.self, RememberExport.self, PlanImport.self, ApplyImport.self]

    /// The command that delivers values, as the audit trail names the delivery.
    public enum Action: String, Codable, Sendable {
        case export, run, inject
    }

    /// `export`, `run`, `inject`: a scope's variables with their values,
    /// sorted by name. The delivery is audited (one event per key, one for
    /// the config entries) before the values are returned, so no value leaves
    /// without its event.
    public struct Environment: ServiceOperation {
        public static let name = "delivery.environment"
        public var scope: String
        /// Only these variables (each must exist); nil for all of the scope's.
        public var only: [String]?
        public var action: Action
        /// Where the values go (`.env (dotenv)`, `stdout`, `command python`), for the audit trail.
        public var destination: String
        /// `export --include-admin`: admin keys too. Honoured for `export`
        /// only; `run` and `inject` never deliver an admin key.
        public var includeAdmin: Bool?

        public init(scope: String, only: [String]?, action: Action, destination: String, includeAdmin: Bool = false) {
            (self.scope, self.only, self.action, self.destination) = (scope, only, action, destination)
            self.includeAdmin = includeAdmin ? true : nil
        }

        public func run(in session: ServiceSession) async throws -> [EnvironmentVariable] {
            try await session.vault { vault in
                let variables = try vault.resolveEnvironment(scope: scope, only: only, includeAdmin: action == .export && includeAdmin == true)
                try vault.recordDelivery(variables, action: action.rawValue, scope: scope, destination: destination)
                return variables.map { EnvironmentVariable(name: $0.name, value: $0.value!) }
            }
        }
    }

    /// The variable names of a scope (with what it inherits), sorted; no value is decrypted.
    public struct VariableNames: ServiceOperation {
        public static let name = "delivery.names"
        public var scope: String

        public init(scope: String) { self.scope = scope }

        public func run(in session: ServiceSession) async throws -> [String] {
            try await session.vault { vault in try vault.resolveEnvironment(scope: scope, decrypt: false).map(\.name) }
        }
    }

    /// `export --output`: remembers the file it wrote, so `rotate --reexport` rewrites it.
    public struct RememberExport: ServiceOperation {
        public static let name = "delivery.remember-export"
        /// The file's absolute path.
        public var path: String
        public var scope: String
        public var format: ExportFormat
        public var only: [String]?

        public init(path: String, scope: String, format: ExportFormat, only: [String]?) {
            (self.path, self.scope, self.format, self.only) = (path, scope, format, only)
        }

        public func run(in session: ServiceSession) async throws -> Done {
            // Checked here, before any vault work: the vault refuses it too,
            // but this says why it matters.
            guard path.hasPrefix("/") else {
                throw KeywardenError(.invalidInput, "an exported file is remembered by its absolute path, not '\(path.prefix(200))': `rotate --reexport` would resolve a relative one in the agent's working folder and write keys there")
            }
            try await session.vault { vault in try vault.rememberExport(path: path, scope: scope, format: format, only: only) }
            return Done()
        }
    }

    /// `import --dry-run`: what importing the entries would do; nothing is written.
    public struct PlanImport: ServiceOperation {
        public static let name = "delivery.plan-import"
        public var request: ImportRequest

        public init(_ request: ImportRequest) { self.request = request }

        public func run(in session: ServiceSession) async throws -> ImportPlan {
            try await request.run(in: session, apply: false)
        }
    }

    /// `import`: stores the entries, all of them or none.
    public struct ApplyImport: ServiceOperation {
        public static let name = "delivery.apply-import"
        public var request: ImportRequest

        public init(_ request: ImportRequest) { self.request = request }

        public func run(in session: ServiceSession) async throws -> ImportPlan {
            try await request.run(in: session, apply: true)
        }
    }
}

/// A variable as delivered: its name and exact value.
public struct EnvironmentVariable: Codable, Sendable {
    public var name: String
    public var value: Secret

    public init(name: String, value: Secret) {
        self.name = name
        self.value = value
    }
}

/// What `import` sends: the entries the CLI read from the file (values as
/// secrets), where they go, and which loader variables the user allowed.
public struct ImportRequest: Codable, Sendable {
    /// One assignment of the file.
    public struct Entry: Codable, Sendable {
        public var name: String
        public var line: Int
        public var value: Secret

        public init(name: String, line: Int, value: Secret) {
            (self.name, self.line, self.value) = (name, line, value)
        }
    }

    public var entries: [Entry]
    public var scope: String
    /// The file's name as the user gave it, for messages and the audit trail.
    public var file: String
    /// Loader variables (``LoaderVariables``) allowed by name (`--allow NAME`).
    public var allowed: [String]
    /// Every loader variable allowed (`--allow-loader-vars`).
    public var allowLoaderVariables: Bool

    enum CodingKeys: String, CodingKey { case entries, scope, file, allowed, allowLoaderVariables = "allow_loader_variables" }

    public init(entries: [DotenvEntry], scope: String, file: String, allowed: [String], allowLoaderVariables: Bool) {
        self.entries = entries.map { Entry(name: $0.name, line: $0.line, value: Secrets.secret(copying: $0.value)) }
        (self.scope, self.file, self.allowed, self.allowLoaderVariables) = (scope, file, allowed, allowLoaderVariables)
    }

    func allowsLoaderVariable(_ name: String) -> Bool {
        allowLoaderVariables || allowed.contains(name)
    }

    /// Plans the import, and with `apply` stores it. The vault takes the
    /// entries as the parser's type; those plain copies of the values are
    /// wiped afterwards.
    func run(in session: ServiceSession, apply: Bool) async throws -> ImportPlan {
        // Read here: the vault work may run on another thread, where the task's value is not.
        let progress = OperationProgress.current
        return try await session.vault { vault in
            var plain = entries.map { DotenvEntry(name: $0.name, value: $0.value.copyBytes(), line: $0.line) }
            defer { for index in plain.indices { Secrets.wipe(&plain[index].value) } }
            return apply ? try vault.applyImport(plain, scope: scope, file: file, allowLoader: allowsLoaderVariable, progress: progress)
                         : try vault.planImport(plain, scope: scope, file: file, allowLoader: allowsLoaderVariable)
        }
    }
}

extension ExportFormat: Codable {}

extension KeywardenService {
    /// A scope's variables with their values, sorted by name, audited as
    /// delivered by `action` to `destination`.
    ///
    /// From an agent, only what was asked for is accepted (see
    /// ``RequestedVariables/check(_:only:)``): whatever answers at the socket
    /// must not choose a program's loader.
    public func environment(scope: String, only: [String]?, action: Delivery.Action, destination: String,
                            includeAdmin: Bool = false) async throws -> [EnvironmentVariable] {
        let variables = try await perform(Delivery.Environment(scope: scope, only: only, action: action, destination: destination, includeAdmin: includeAdmin))
        if case .agent = endpoint { try RequestedVariables.check(variables.map(\.name), only: only) }
        return variables.sorted { $0.name < $1.name }
    }

    /// The variable names of a scope.
    public func variableNames(scope: String) async throws -> Set<String> {
        Set(try await perform(Delivery.VariableNames(scope: scope)))
    }

    public func rememberExport(path: String, scope: String, format: ExportFormat, only: [String]?) async throws {
        _ = try await perform(Delivery.RememberExport(path: path, scope: scope, format: format, only: only))
    }

    public func planImport(_ request: ImportRequest) async throws -> ImportPlan { try await perform(Delivery.PlanImport(request)) }
    public func applyImport(_ request: ImportRequest) async throws -> ImportPlan { try await perform(Delivery.ApplyImport(request)) }
}
