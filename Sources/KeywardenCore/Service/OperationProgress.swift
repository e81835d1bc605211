/// Where a long operation running in this process reports how far it is
/// (items done, items in all): `import` (entries stored) and `rotate`
/// (steps carried out). The CLI sets it to draw a progress line on a
/// terminal; through the agent nothing is reported (the agent's task has no
/// such value), as for `validate` (`Validation.progress`).
public enum OperationProgress {
    @TaskLocal public static var current: ValidationProgress?
}
