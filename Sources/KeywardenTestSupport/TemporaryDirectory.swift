import Foundation

/// A private (0700) temporary folder, removed with everything in it when the
/// value is released — so a failing test still cleans up.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(prefix: String = "keywarden-test") {
        var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(cString: template)
    }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
