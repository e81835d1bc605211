import Foundation
import KeywardenCore

/// Reading an input file (or `-` for stdin) with a clear error.
enum InputFile {
    static func read(_ path: String, input: SecretInput) throws(KeywardenError) -> [UInt8] {
        if path == "-" { return try input.readStandardInput(false).copyBytes() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeywardenError(.notFound, "cannot read \(path): no such file, or not readable")
        }
        return Array(data)
    }
}
