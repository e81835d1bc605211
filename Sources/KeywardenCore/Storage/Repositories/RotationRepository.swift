/// Rotation policies, rotations in progress or done, and the files
/// `export --output` wrote (which rotations rewrite).
protocol RotationReading {
    func rotationPolicy(provider: String, scope: String) throws -> RotationPolicyRecord?
    /// Every policy, by provider and scope.
    func rotationPolicies() throws -> [RotationPolicyRecord]
    func rotation(id: String) throws -> RotationRecord?
    /// Rotations still under way, by start time.
    func openRotations() throws -> [RotationRecord]
    /// The pool's rotation under way, if any.
    func openRotation(of pool: Pool) throws -> RotationRecord?
    func exportedFile(path: String) throws -> ExportedFileRecord?
    /// Every remembered file, by path.
    func exportedFiles() throws -> [ExportedFileRecord]
}

protocol RotationWriting: RotationReading {
    /// Inserts the policy, or replaces the pool's.
    func save(_ policy: RotationPolicyRecord) throws
    func insert(_ rotation: RotationRecord) throws
    func update(_ rotation: RotationRecord) throws
    /// Inserts the file, or replaces the one at its path.
    func save(_ file: ExportedFileRecord) throws
}
