/// The real dotenv readers' small driver programs, shared by the format
/// tests (KeywardenCoreTests) and the exported-file tests (EndToEndTests).
public enum DotenvReaderScripts {
    /// python-dotenv: reads each file with `dotenv_values` (argv[1] "1" for
    /// interpolation on) and prints `{path: {name: hex of the UTF-8 value, or null}}` as JSON.
    public static let python = """
        import json, sys
        from dotenv import dotenv_values
        interpolate = sys.argv[1] == "1"
        result = {}
        for path in sys.argv[2:]:
            values = dotenv_values(path, interpolate=interpolate)
            result[path] = {k: (None if v is None else v.encode("utf-8", "surrogatepass").hex()) for k, v in values.items()}
        print(json.dumps(result))
        """
}
