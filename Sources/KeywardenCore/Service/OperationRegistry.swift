/// Every operation of the API, in one list: the agent serves each at
/// `POST /v1/ops/{name}`, and a test checks that names are unique.
public enum ServiceOperations {
    public static let all: [any ServiceOperation.Type] = [
        Keys.Add.self, Keys.List.self, Keys.Show.self, Keys.Reveal.self, Keys.Remove.self, Keys.Activate.self,
    ]
}
