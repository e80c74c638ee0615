using System.Text.Json;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// What the Lambda Web Adapter tells the app about the invocation behind a request (the
/// <c>x-amzn-lambda-context</c> and <c>x-amzn-trace-id</c> headers), kept in a log scope so that every log
/// line names the request id, the X-Ray trace and whether this was the function's cold start.
/// </summary>
public sealed class InvocationContext
{
    public const string LambdaContextHeader = "x-amzn-lambda-context";
    public const string TraceHeader = "x-amzn-trace-id";

    private int _invocations;

    /// <summary>True for the first invocation this process serves (health probes are not invocations).</summary>
    public bool NextIsColdStart() => Interlocked.Increment(ref _invocations) == 1;

    /// <summary>The log scope for one request.</summary>
    public static Dictionary<string, object> ScopeFor(HttpRequest request, bool coldStart, double samplingRate = 0)
    {
        var scope = new Dictionary<string, object> { ["cold_start"] = coldStart };
        if (samplingRate > 0)
        {
            scope["sampling_rate"] = samplingRate;
        }

        if (request.Headers[LambdaContextHeader].ToString() is { Length: > 0 } header)
        {
            try
            {
                using var context = JsonDocument.Parse(header);
                var root = context.RootElement;
                if (root.TryGetProperty("request_id", out var id))
                {
                    scope["function_request_id"] = id.GetString() ?? "";
                }

                if (root.TryGetProperty("invoked_function_arn", out var arn))
                {
                    scope["function_arn"] = arn.GetString() ?? "";
                }

                if (root.TryGetProperty("env_config", out var env) && env.TryGetProperty("function_name", out var name))
                {
                    scope["function_name"] = name.GetString() ?? "";
                }

                if (root.TryGetProperty("xray_trace_id", out var trace) && trace.GetString() is { Length: > 0 } traceId)
                {
                    scope["xray_trace_id"] = traceId;
                }
            }
            catch (JsonException)
            {
                // A malformed header only costs the log line its context.
            }
        }

        if (!scope.ContainsKey("xray_trace_id") && Tracing.ParseXRay(request.Headers[TraceHeader].ToString()) is { } amznTrace)
        {
            scope["xray_trace_id"] = Tracing.XRayTraceId(amznTrace.TraceId);
        }

        return scope;
    }
}

internal static class InvocationContextMiddleware
{
    public static IApplicationBuilder UseInvocationContext(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var isProbe = context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);
            var coldStart = !isProbe && context.RequestServices.GetRequiredService<InvocationContext>().NextIsColdStart();
            var sampler = context.RequestServices.GetRequiredService<LogSampler>();
            LogSampler.MarkCurrent(!isProbe && sampler.Decide());
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("OrderProcessing");
            using (logger.BeginScope(InvocationContext.ScopeFor(context.Request, coldStart, sampler.Rate)))
            {
                if (LogSampler.CurrentIsSampled)
                {
                    logger.DebugSampled(sampler.Rate);
                }

                await next(context);
            }
        });
}

internal static partial class InvocationLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Debug logs are on for this invocation (sampling rate {SamplingRate})")]
    public static partial void DebugSampled(this ILogger logger, double samplingRate);
}
