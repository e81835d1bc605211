/// Environment variables that change which code a program loads or runs,
/// rather than what it is configured with: whoever sets them decides what
/// runs with the keys. `import` refuses them unless allowed by name, and the
/// CLI takes them from an agent only when they were asked for by name.
public enum LoaderVariables {
    /// Exact names.
    public static let names: Set<String> = [
        "PATH",  // which binary a bare command name is
        "NODE_OPTIONS",  // --require, --import: code loaded into every node
        "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME",  // modules python imports first
        "PERL5OPT", "PERL5LIB",  // -M: modules perl loads
        "RUBYOPT", "RUBYLIB",  // -r: files ruby requires
        "BASH_ENV", "ENV",  // files bash and sh source before a script
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",  // -javaagent: code the JVM loads
        "GIT_SSH_COMMAND", "GIT_EXEC_PATH",  // commands git runs
    ]

    /// Prefixes: the dynamic loaders' own variables (`LD_PRELOAD`,
    /// `LD_LIBRARY_PATH`, `LD_AUDIT`, `DYLD_INSERT_LIBRARIES`, …).
    public static let prefixes = ["LD_", "DYLD_"]

    /// Whether `name` changes how programs load.
    public static func contains(_ name: String) -> Bool {
        names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }

    /// The list as docs/delivery.md and errors show it.
    public static let summary = "PATH, LD_*, DYLD_*, NODE_OPTIONS, PYTHONPATH, PERL5OPT, BASH_ENV, ENV and the like"
}
