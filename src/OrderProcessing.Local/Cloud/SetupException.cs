namespace OrderProcessing.Local.Cloud;

/// <summary>
/// A problem with the machine's set-up: its message is one line naming the cause and the fix,
/// printed as it is, without a stack trace.
/// </summary>
public sealed class SetupException(string message, Exception? inner = null) : Exception(message, inner);
