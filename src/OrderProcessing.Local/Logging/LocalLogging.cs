using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Local.Logging;

/// <summary>How the local host writes the app's log lines to the console.</summary>
public enum LogFormat
{
    /// <summary>One JSON object per line with Powertools' keys, exactly as the functions write on Lambda.</summary>
    Json,

    /// <summary>One short line per entry for a person at a terminal: time, level, where, message, correlation id.</summary>
    Text,
}

/// <summary>The local host's logging: readable text at a terminal by default, the framework's chatter left out.</summary>
public static class LocalLogging
{
    /// <summary>The environment variable that chooses the format when --log-format does not.</summary>
    public const string FormatVariable = "LOCAL_LOG_FORMAT";

    /// <summary>
    /// Levels under the template's <c>Logging__LogLevel__Default</c>: ASP.NET Core, hosting and HttpClient write a
    /// few Information lines per request ("Setting HTTP status code 200.", "Writing value of type ..."), Polly one per
    /// attempt, which would bury the app's own. Environment variables such as <c>Logging__LogLevel__Microsoft.AspNetCore=Information</c>
    /// still override these.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> QuietFramework = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
        // Resilience telemetry: one "Execution attempt" line per @connections call; retries and failures are Warning.
        ["Logging:LogLevel:Polly"] = "Warning",
        // "No XML encryptor configured": keys kept in the clear is what a development host on one machine does.
        ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
    };

    public static LogFormat? ParseFormat(string? text) => text?.ToLowerInvariant() switch
    {
        "json" => LogFormat.Json,
        "text" => LogFormat.Text,
        _ => null,
    };

    /// <summary>Writes the console's lines with <see cref="TextLogFormatter"/> instead of the app's JSON one.</summary>
    public static void UseText(ILoggingBuilder logging)
    {
        logging.AddConsoleFormatter<TextLogFormatter, ConsoleFormatterOptions>();
        logging.Services.Configure<ConsoleLoggerOptions>(console => console.FormatterName = TextLogFormatter.Name);
    }
}

/// <summary>
/// <c>12:00:01.234 info  Delivery.DeliveryProcessor  Shipment 42 created for order 7  [correlation 5f0c...]</c>: the
/// app's structured fields stay in the message, the correlation id follows it; credentials a line might quote are
/// masked as in the JSON lines.
/// </summary>
public sealed class TextLogFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "local-text";

    private static readonly string[] OwnPrefixes = ["OrderProcessing.Functions.", "OrderProcessing."];

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        string? correlationId = null;
        scopeProvider?.ForEachScope((scope, _) =>
        {
            if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    if (key == Correlation.ItemKey)
                    {
                        correlationId = value?.ToString();
                    }
                }
            }
        }, (object?)null);

        var category = logEntry.Category;
        if (Array.Find(OwnPrefixes, p => category.StartsWith(p, StringComparison.Ordinal)) is { } own)
        {
            category = category[own.Length..];
        }

        textWriter.Write(DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(' ');
        textWriter.Write(category);
        textWriter.Write("  ");
        textWriter.Write(LogRedaction.Redact(message ?? ""));
        if (correlationId is not null)
        {
            textWriter.Write($"  [correlation {correlationId}]");
        }

        textWriter.Write('\n');
        if (logEntry.Exception is { } exception)
        {
            foreach (var line in LogRedaction.Redact(exception.ToString()).Split('\n'))
            {
                textWriter.Write("    ");
                textWriter.Write(line.TrimEnd('\r'));
                textWriter.Write('\n');
            }
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "WARN",
        LogLevel.Error => "FAIL",
        LogLevel.Critical => "CRIT",
        _ => "    ",
    };
}
