/// Every operation of the API: the agent serves each at
/// `POST /v1/ops/{name}`. Each area lists its own in `Service/Operations/`.
public enum ServiceOperations {
    public static let all: [any ServiceOperation.Type] =
        Keys.operations + Config.operations + Scopes.operations + Providers.operations + Keyslots.operations
        + Tokens.operations + Audit.operations + Delivery.operations + Validation.operations + Rotation.operations
        + Reports.operations + Overview.operations + AgentControl.operations + KeyHealth.operations
}
