import Foundation
import Testing
@testable import KeywardenCore
import KeywardenCrypto

/// A rotation run in the agent goes on between its vault calls (probes,
/// commands); once the agent is locked, none of its later vault calls run.
extension RotationTests {
    /// Whether a rotation has recorded its test step: from then on the
    /// runner below reports the agent locked.
    static func testStepRecorded(_ vault: Vault) -> Bool {
        ((try? vault.read { tx in try tx.openRotations() }) ?? []).contains { $0.step == .test }
    }

    func events(_ vault: Vault) throws -> [String] { try vault.auditEvents(AuditFilter()).map(\.action) }

    @Test("rotation.run through an agent locked after the test step writes nothing more: no finish, no failure; the next run resumes it")
    func lockedAfterTest() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let standby = try f.add("valid-two")
        let vault = f.vault
        let service = LocalService(vault: vault, caller: ServiceCaller(actor: AuditActor(uid: 7, pid: 7, name: "keywarden rotate")),
                                   agent: AgentControls(lock: {}, isLocked: { Self.testStepRecorded(vault) }))
        let before = try events(vault)
        let run = Rotation.Run(target: .pool(provider: "anthropic", scope: "prod"), reexport: false,
                               timeout: DurationSpec(seconds: 60), network: NetworkSettings(environment: [:]))
        let error = await #expect(throws: KeywardenError.self) { try await service.rotate(run) }
        #expect(error?.kind == .locked, "\(error?.message ?? "")")
        #expect(error?.exitCode == 3)

        // Written before the lock: the start, the set, the check, the test step.
        #expect(try f.state(old) == .active)
        #expect(try f.state(standby) == .pending)
        #expect(try f.activeCount() == 1)
        let open = try vault.read { tx in try tx.openRotations() }
        #expect(open.map(\.step) == [.test])
        // Nothing after it: not the finish, not a failure.
        let added = try events(vault).dropFirst(before.count)
        #expect(added.contains("rotate.start"))
        #expect(!added.contains("key.rotate"), "\(added)")
        #expect(!added.contains("rotate.fail"), "\(added)")
        // The rotation's events name the client that asked, not the agent.
        let started = try vault.auditEvents(AuditFilter()).last { $0.action == "rotate.start" }
        #expect(started?.pid == 7 && started?.actor.contains("keywarden rotate") == true, "\(String(describing: started))")

        // Unlocked again, the next run finishes it: no second rotation.
        let reports = try await f.rotator.execute(try f.rotator.plan(.due, reexport: false))
        #expect(reports.map(\.result) == ["rotated"], "\(reports.map(\.detail))")
        #expect(try f.state(standby) == .active)
        #expect(try f.state(old) == .retiring)
        #expect(try vault.verifyAudit().ok)
        await f.mock.shutdown()
    }

    @Test("a rotator whose runner reports the agent locked writes nothing at all; the pool keeps its key")
    func lockedBeforeStart() async throws {
        let f = try await Fixture()
        let old = try f.add("valid-one")
        let standby = try f.add("valid-two")
        var rotator = f.rotator
        rotator.runner = VaultRunner(executor: .inline, isLocked: { true })
        let before = try events(f.vault)
        let error = await #expect(throws: KeywardenError.self) {
            try await rotator.execute(try f.rotator.plan(.pool(provider: "anthropic", scope: "prod"), reexport: false))
        }
        #expect(error?.kind == .locked)
        #expect(try events(f.vault) == before)
        #expect(try f.state(old) == .active)
        #expect(try f.state(standby) == .standby)
        await f.mock.shutdown()
    }
}
