using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The app's log output as it would reach CloudWatch: every entry the app's filters let through, written by the
/// app's own <see cref="JsonLogFormatter"/> (scopes, trace ids and redaction included), one JSON line each.
/// </summary>
public sealed class JsonLogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly JsonLogFormatter _formatter = new(new FixedOptions(new JsonLogFormatterOptions { Service = "orderprocessing", FunctionName = "local" }));
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Every line, parsed.</summary>
    public IReadOnlyList<JsonElement> Entries => Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public string Text => string.Join('\n', Lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(JsonLogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            using var writer = new StringWriter();
            capture._formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), capture._scopes, writer);
            foreach (var line in writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                capture._lines.Enqueue(line);
            }
        }
    }

    private sealed class FixedOptions(JsonLogFormatterOptions value) : IOptionsMonitor<JsonLogFormatterOptions>
    {
        public JsonLogFormatterOptions CurrentValue => value;

        public JsonLogFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonLogFormatterOptions, string?> listener) => null;
    }
}
