using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace OrderProcessing.Functions.Platform;

/// <summary>Settings of <see cref="JsonLogFormatter"/>.</summary>
public sealed class JsonLogFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>The <c>service</c> key (POWERTOOLS_SERVICE_NAME on Lambda).</summary>
    public string Service { get; set; } = "orderprocessing";

    /// <summary>The <c>function_name</c> key when no invocation says otherwise (AWS_LAMBDA_FUNCTION_NAME).</summary>
    public string? FunctionName { get; set; }
}

/// <summary>
/// One JSON object per line with the keys of Powertools for AWS Lambda (level, message, timestamp, service,
/// cold_start, function_name, function_request_id, correlation_id, xray_trace_id, plus the W3C trace_id), then every structured field
/// of the message and its scopes in snake_case (<c>{OrderId}</c> becomes <c>order_id</c>). Log calls stay
/// ordinary ILogger calls; the invocation context arrives as a scope (see <see cref="InvocationContext"/>). Credentials
/// a line might quote are masked (see <see cref="LogRedaction"/>).
/// </summary>
public sealed class JsonLogFormatter(IOptionsMonitor<JsonLogFormatterOptions> options) : ConsoleFormatter(Name)
{
    public new const string Name = "powertools-json";

    private static readonly HashSet<string> ContextKeys =
    [
        "cold_start", "function_name", "function_request_id", "function_arn", "function_memory_size", "correlation_id", "xray_trace_id",
        "trace_id", "sampling_rate",
    ];

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var settings = options.CurrentValue;
        var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
        scopeProvider?.ForEachScope((scope, state) => Collect(scope, state), fields);
        Collect(logEntry.State, fields);

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("level", logEntry.LogLevel.ToString());
            json.WriteString("message", LogRedaction.Redact(message ?? ""));
            json.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("service", settings.Service);
            json.WriteBoolean("cold_start", fields.Remove("cold_start", out var cold) && cold is true);
            WriteValue(json, "function_name", fields.Remove("function_name", out var fn) ? fn : settings.FunctionName);
            // The trace of the activity the line was written in wins over the invocation's X-Ray header: a message
            // processed in a batch belongs to its sender's trace.
            if (fields.GetValueOrDefault("trace_id") is string { Length: 32 } traceId)
            {
                fields["xray_trace_id"] = Tracing.XRayTraceId(traceId);
            }

            foreach (var key in ContextKeys.Where(k => k is not "cold_start" and not "function_name"))
            {
                if (fields.Remove(key, out var value))
                {
                    WriteValue(json, key, value);
                }
            }

            json.WriteString("logger", logEntry.Category);
            foreach (var (key, value) in fields)
            {
                WriteValue(json, key, value);
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteStartObject("exception");
                json.WriteString("type", exception.GetType().FullName);
                json.WriteString("message", LogRedaction.Redact(exception.Message));
                json.WriteString("stack_trace", LogRedaction.Redact(exception.ToString()));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        textWriter.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }

    private static void Collect(object? state, Dictionary<string, object?> fields)
    {
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var (key, value) in pairs)
            {
                if (key != "{OriginalFormat}")
                {
                    fields[SnakeCase(key)] = value;
                }
            }
        }
        else if (state is IEnumerable<KeyValuePair<string, object>> objects)
        {
            foreach (var (key, value) in objects)
            {
                fields[SnakeCase(key)] = value;
            }
        }
    }

    public static string SnakeCase(string key) =>
        key.Contains('_', StringComparison.Ordinal) ? key.ToLowerInvariant() : JsonNamingPolicy.SnakeCaseLower.ConvertName(key);

    private static void WriteValue(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNull(key);
                break;
            case bool b:
                json.WriteBoolean(key, b);
                break;
            case int or long or short or byte or uint or ulong or ushort:
                json.WriteNumber(key, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double or float or decimal:
                json.WriteNumber(key, Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset time:
                json.WriteString(key, time);
                break;
            case DateTime time:
                json.WriteString(key, time);
                break;
            case TimeSpan span:
                json.WriteNumber(key, Math.Round(span.TotalMilliseconds, 3));
                break;
            default:
                json.WriteString(key, LogRedaction.Redact(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
                break;
        }
    }
}

/// <summary>Turns the app's console logging into <see cref="JsonLogFormatter"/> lines.</summary>
internal static class JsonLogging
{
    public static WebApplicationBuilder AddJsonLogging(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(sp => new LogSampler(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, SampledLogFilter>();
        builder.Logging.AddConsole(console => console.FormatterName ??= JsonLogFormatter.Name);
        // Registered by hand rather than with AddConsoleFormatter, which also binds the options from the
        // Logging:Console:FormatterOptions section by reflection; these options come from the function's environment.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, JsonLogFormatter>());
        builder.Services.Configure<JsonLogFormatterOptions>(formatter =>
        {
            formatter.Service = configuration["POWERTOOLS_SERVICE_NAME"] ?? "orderprocessing";
            formatter.FunctionName = configuration["AWS_LAMBDA_FUNCTION_NAME"] ?? "local";
        });
        return builder;
    }
}
