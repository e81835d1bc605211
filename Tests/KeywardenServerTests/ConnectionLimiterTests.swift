@testable import KeywardenServer
import Testing

@Suite("Agent connections: per-uid limits")
struct ConnectionLimiterTests {
    @Test("other uids get at most perUID connections each and othersTotal together; the owner and root are never limited")
    func limits() {
        let limiter = ConnectionLimiter(limits: ConnectionLimits(perUID: 2, othersTotal: 3), owner: 4000)
        #expect(limiter.admit(1000) && limiter.admit(1000))
        #expect(!limiter.admit(1000), "over its own limit")
        #expect(limiter.admit(1001))
        #expect(!limiter.admit(1002), "over the limit of all other uids together")
        for _ in 0..<100 { #expect(limiter.admit(4000) && limiter.admit(0)) }
        limiter.release(1000)
        #expect(limiter.admit(1002), "a released slot is free again")
        #expect(!limiter.admit(1000))
    }

    @Test("the limits follow the descriptors the agent may open")
    func descriptorShare() {
        #expect(ConnectionLimits.forDescriptorLimit(1024).othersTotal == 480)
        #expect(ConnectionLimits.forDescriptorLimit(100).othersTotal == 18)
        #expect(ConnectionLimits.forDescriptorLimit(80).othersTotal == 16, "never fewer than 16")
        #expect(ConnectionLimits.forDescriptorLimit(1 << 20).othersTotal == 4096)
        #expect(ConnectionLimits.forDescriptorLimit(1024).perUID == 64)
    }
}
