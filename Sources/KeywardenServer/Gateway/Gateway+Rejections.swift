import Foundation
import KeywardenCore
import NIOCore

extension Gateway {
    /// Records that `member`'s key was refused (invalid, forbidden, out of
    /// credit), off the request's path: the request has already moved on to
    /// the next key. The key is kept out of new requests at once. A refusal
    /// is first confirmed with the provider's own probe, because the client
    /// controls headers that can make a good key fail (an organization or
    /// project it does not belong to, a model it may not use): without the
    /// probe any token holder could fail a pool over (and walk it to the end).
    /// Only a probe that finds the key bad changes its state; otherwise the
    /// refusal is audited and the key serves on.
    func recordRejection(member: GatewayMember, runtime: KeyRuntime, pool: GatewayPool, outcome: GatewayOutcome, status: Int, method: String, path: String,
                         caller: GatewayCaller) {
        let first = runtime.markFailed()
        // Method and path only: never the query (`?key=`) or a header.
        let detail = GatewayRejection.detail(status: status, provider: pool.provider.name, method: method, path: path)
        let keyID = member.key.id
        guard let vault = state.current else { return }
        let actor = caller.programActor
        guard first else {
            // Already being confirmed: each further refusal is still its own event.
            let draft = AuditDraft(action: "gateway.reject", provider: member.key.provider, scope: member.key.scope, keyID: keyID,
                                   fingerprint: member.key.fingerprint, outcome: outcome.rawValue, detail: detail + "; the key is already being checked", actor: actor)
            vaultPool.submit { _ in try? vault.recordAudit(draft) }
            return
        }
        let check = KeyToCheck(key: member.key, provider: pool.provider, value: member.value)
        let validator = Validator(client: settings.network.client, timeout: .seconds(15))
        let logger = logger
        Task {
            // Every refusal is probed (no-credit answers too: a 402 can mean this request's
            // max_tokens costs more than is left, a 429 insufficient_quota the client's own
            // OpenAI-Project). Only a probe that finds the key bad changes its state.
            let probe = await validator.checkOne(check)
            let confirmed: Bool
            var detail = detail
            switch probe.outcome {
            case .invalid, .forbidden, .noCredit:
                confirmed = true
                detail += "; probe: \(probe.outcome.rawValue)"
            case .valid:
                confirmed = false
                detail += "; probe: valid"
            default:
                confirmed = false
                detail += "; probe: \(probe.outcome.rawValue), no verdict"
            }
            let rejection = GatewayRejection(keyID: keyID, outcome: outcome, status: status, detail: detail, caller: actor, confirmed: confirmed)
            do {
                let promoted = try await vaultPool.runIfActive { try vault.recordGatewayRejection(rejection) }
                if let promoted { logger.notice("gateway: \(keyID) refused (\(outcome.rawValue)); \(promoted) is now active") }
            } catch {
                logger.error("gateway: could not record that \(keyID) was refused: \(error)")
            }
            runtime.rejectionRecorded()
        }
    }
}

extension GatewayCaller {
    /// The caller with its program's name where the kernel still knows it
    /// (`/proc/PID/comm`); over TCP, its uid (and pid and program, where this
    /// process may see them) from the connection's ports (``TCPPeers``).
    var programActor: AuditActor {
        if let ports = tcpPorts, let peer = TCPPeers.caller(clientPort: ports.client, serverPort: ports.server) {
            return AuditActor(uid: peer.uid, pid: peer.pid ?? 0, name: "\(name)\(peer.program.map { ", program \($0)" } ?? "")")
        }
        guard pid > 0, let comm = TCPPeers.procFile("/proc/\(pid)/comm") else { return actor }
        let program = String(comm.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(32).map(Character.init))
        return AuditActor(uid: uid, pid: pid, name: "\(name), program \(program)")
    }
}
