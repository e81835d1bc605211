/// The schema's migrations, in the order they are applied. Each is one file
/// in this folder (SQLite) and one in postgresql/ (the same migration in
/// PostgreSQL's dialect, with the same identifier), embedded in the binary.
/// A migration that has shipped never changes: a change to the schema is a
/// new file appended here, in both dialects.
public enum SchemaMigrations {
    /// (identifier, SQL) pairs in application order.
    public static let all: [(identifier: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        ("0002_agent_tokens", String(decoding: PackageResources._002_agent_tokens_sql, as: UTF8.self)),
        ("0003_rotation", String(decoding: PackageResources._003_rotation_sql, as: UTF8.self)),
        ("0004_row_macs", String(decoding: PackageResources._004_row_macs_sql, as: UTF8.self)),
        ("0005_revoke_timeout", String(decoding: PackageResources._005_revoke_timeout_sql, as: UTF8.self)),
        ("0006_agent", String(decoding: PackageResources._006_agent_sql, as: UTF8.self)),
        ("0007_provider_insecure", String(decoding: PackageResources._007_provider_insecure_sql, as: UTF8.self)),
        ("0008_gateway", String(decoding: PackageResources._008_gateway_sql, as: UTF8.self)),
        ("0009_key_health", String(decoding: PackageResources._009_key_health_sql, as: UTF8.self)),
        ("0010_key_headroom", String(decoding: PackageResources._010_key_headroom_sql, as: UTF8.self)),
        ("0011_provider_rotation", String(decoding: PackageResources._011_provider_rotation_sql, as: UTF8.self)),
    ]

    /// The same migrations for PostgreSQL: the same identifiers in the same
    /// order, so both backends record a schema version the same way.
    public static let postgresql: [(identifier: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_pg_sql, as: UTF8.self)),
        ("0002_agent_tokens", String(decoding: PackageResources._002_agent_tokens_pg_sql, as: UTF8.self)),
        ("0003_rotation", String(decoding: PackageResources._003_rotation_pg_sql, as: UTF8.self)),
        ("0004_row_macs", String(decoding: PackageResources._004_row_macs_pg_sql, as: UTF8.self)),
        ("0005_revoke_timeout", String(decoding: PackageResources._005_revoke_timeout_pg_sql, as: UTF8.self)),
        ("0006_agent", String(decoding: PackageResources._006_agent_pg_sql, as: UTF8.self)),
        ("0007_provider_insecure", String(decoding: PackageResources._007_provider_insecure_pg_sql, as: UTF8.self)),
        ("0008_gateway", String(decoding: PackageResources._008_gateway_pg_sql, as: UTF8.self)),
        ("0009_key_health", String(decoding: PackageResources._009_key_health_pg_sql, as: UTF8.self)),
        ("0010_key_headroom", String(decoding: PackageResources._010_key_headroom_pg_sql, as: UTF8.self)),
        ("0011_provider_rotation", String(decoding: PackageResources._011_provider_rotation_pg_sql, as: UTF8.self)),
    ]
}
