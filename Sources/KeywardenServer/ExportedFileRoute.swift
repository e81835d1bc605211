import Foundation
import Hummingbird
import KeywardenCore

// `POST /v1/exported-files`: the CLI's `export --output` tells the agent which
// file it wrote, so that `rotate --reexport` rewrites it like a file written
// without an agent. The CLI has no unlocked vault when it exports through the
// agent, and the list is authenticated (row MACs), so the agent records it.
extension AgentRoutes {
    /// `{"path": "/abs/file", "scope": "prod", "format": "dotenv", "only": ["NAME", …]}`.
    struct ExportedFileBody: Decodable {
        var path: String
        var scope: String
        var format: String
        var only: [String]?
    }

    /// Records a file `export --output` wrote (owner only: a remembered file
    /// is where a later rotation writes keys).
    @Sendable func rememberExport(_ request: Request, _ context: AgentRequestContext) async throws -> Response {
        let caller = try context.caller
        try await access.requireOwner(caller, "recording an exported file")
        let body: ExportedFileBody
        do {
            body = try await request.decode(as: ExportedFileBody.self, context: context)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw error
        } catch {
            throw AgentError(.badRequest, "expected JSON {\"path\": \"/absolute/file\", \"scope\": \"…\", \"format\": \"dotenv\", \"only\": [\"NAME\"]}")
        }
        guard let format = ExportFormat(rawValue: body.format) else {
            throw AgentError(.badRequest, "unknown format '\(body.format)': use dotenv, shell, docker, systemd or json")
        }
        let vault = try await unlocked()
        try run { try vault.rememberExport(path: body.path, scope: body.scope, format: format, only: body.only) }
        return try json(["path": body.path, "scope": body.scope, "format": format.rawValue])
    }
}
