using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace OrderProcessing.Local.Invoke;

/// <summary>
/// The app's log lines, in the app's own format (its console formatter), written to a given writer instead of
/// the console: the invoke command keeps standard output for the function's result.
/// </summary>
internal sealed class WriterLoggerProvider(ConsoleFormatter formatter, TextWriter output) : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new WriterLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private void Write<TState>(in LogEntry<TState> entry)
    {
        using var line = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        formatter.Write(entry, _scopes, line);
        if (line.GetStringBuilder().Length == 0)
        {
            return;
        }

        lock (output)
        {
            output.Write(line.ToString());
            output.Flush();
        }
    }

    private sealed class WriterLogger(WriterLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter));
            }
        }
    }
}
