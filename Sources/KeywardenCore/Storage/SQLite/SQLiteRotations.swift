import GRDB

// MARK: - Tokens

extension SQLiteTransaction {
    func tokens() throws -> [AgentTokenRecord] { try AgentTokenRecord.order(Column("created_at")).fetchAll(db) }

    func token(nameOrID: String) throws -> AgentTokenRecord? {
        try AgentTokenRecord.filter(Column("name") == nameOrID || Column("id") == nameOrID).fetchOne(db)
    }

    func token(hash: String) throws -> AgentTokenRecord? { try AgentTokenRecord.filter(Column("hash") == hash).fetchOne(db) }
    func tokenNameExists(_ name: String) throws -> Bool { try AgentTokenRecord.filter(Column("name") == name).fetchCount(db) > 0 }

    func insert(_ token: AgentTokenRecord) throws { try token.insert(db) }
    func update(_ token: AgentTokenRecord) throws { try token.update(db) }

    func markTokenUsed(id: String, at time: Timestamp) throws {
        try db.execute(sql: "UPDATE agent_tokens SET last_used_at = ? WHERE id = ?", arguments: [time, id])
    }
}

// MARK: - Rotation policies, rotations, exported files

extension SQLiteTransaction {
    func rotationPolicy(provider: String, scope: String) throws -> RotationPolicyRecord? {
        try RotationPolicyRecord.filter(Column("provider") == provider && Column("scope") == scope).fetchOne(db)
    }

    func rotationPolicies() throws -> [RotationPolicyRecord] {
        try RotationPolicyRecord.order(Column("provider"), Column("scope")).fetchAll(db)
    }

    func rotation(id: String) throws -> RotationRecord? { try RotationRecord.fetchOne(db, key: id) }

    func openRotations() throws -> [RotationRecord] {
        try RotationRecord.filter(RotationStage.open.contains(Column("step"))).order(Column("started_at")).fetchAll(db)
    }

    func openRotation(of pool: Pool) throws -> RotationRecord? {
        try RotationRecord.filter(Column("provider") == pool.provider && Column("scope") == pool.scope && RotationStage.open.contains(Column("step")))
            .fetchOne(db)
    }

    func exportedFile(path: String) throws -> ExportedFileRecord? { try ExportedFileRecord.fetchOne(db, key: path) }
    func exportedFiles() throws -> [ExportedFileRecord] { try ExportedFileRecord.order(Column("path")).fetchAll(db) }

    func save(_ policy: RotationPolicyRecord) throws { try policy.save(db) }
    func insert(_ rotation: RotationRecord) throws { try rotation.insert(db) }
    func update(_ rotation: RotationRecord) throws { try rotation.update(db) }
    func save(_ file: ExportedFileRecord) throws { try file.save(db) }
}
