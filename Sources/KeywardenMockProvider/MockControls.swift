import NIOCore

extension MockProviderServer {
    /// While set, a key containing `marker` is answered as if its words were
    /// `scenario` (any documented scenario such as `invalid`, `ratelimited`,
    /// `overloaded`, or a fault word such as `hang`), whatever it really
    /// says; nil clears it. A test "revokes" a key mid-traffic with
    /// `setScenario(forKeyContaining: "alpha", "invalid")`. When several
    /// markers match a key, the longest wins. Requests still count under
    /// the real key (`requests(withKeyContaining:)`).
    public func setScenario(forKeyContaining marker: String, _ scenario: String?) {
        state.setScenario(forKeyContaining: marker, scenario?.lowercased())
    }

    /// The pause between two events of a streamed answer (10 ms unless set);
    /// read when a stream starts.
    public var streamDelay: TimeAmount {
        get { state.streamDelay }
        set { state.streamDelay = newValue }
    }
}
