import KeywardenLaunch

// Defined in KeywardenLaunch, the small target the `keywarden` launcher
// shares with the full command line (it must not link this module), and
// known here under their usual names.
public typealias AgentSocketPath = KeywardenLaunch.AgentSocketPath
public typealias InheritedDescriptors = KeywardenLaunch.InheritedDescriptors
public typealias KeywardenCredentialsEnvironment = KeywardenLaunch.KeywardenCredentialsEnvironment
public typealias LoaderVariables = KeywardenLaunch.LoaderVariables
public typealias JSONValue = KeywardenLaunch.JSONValue
