extension EnvironmentEncoder {
    /// Encodes delivered variables as `format` (`export`). The plain copies
    /// made for the encoder are wiped; the caller wipes the result once written.
    ///
    /// - Throws: ``KeywardenError`` (invalid input) naming the variable the
    ///   format cannot carry; nothing is written then.
    public static func encode(variables: [EnvironmentVariable], as format: ExportFormat) throws(KeywardenError) -> [UInt8] {
        var plain = variables.map { (name: $0.name, value: $0.value.copyBytes()) }
        defer { for index in plain.indices { Secrets.wipe(&plain[index].value) } }
        do {
            return try encode(plain, as: format)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was written")
        }
    }
}
