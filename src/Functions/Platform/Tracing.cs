using System.Diagnostics;
using System.Globalization;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// W3C trace context and AWS X-Ray, end to end. An HTTP request continues the caller's <c>traceparent</c>, or else
/// the <c>X-Amzn-Trace-Id</c> the Lambda Web Adapter passes on (ASP.NET Core's request activity, through
/// <see cref="TraceContextPropagator"/>). Every SQS message we send carries the trace as the <c>AWSTraceHeader</c>
/// system attribute (X-Ray's own hop) and as a <c>traceparent</c> message attribute (for emulators and consumers
/// without X-Ray); each message or stream record we process runs in an activity whose parent is the sender's
/// context. Orders keep the trace of their last write, so a change continues its trace across the table's stream.
/// Log lines carry <c>trace_id</c> and <c>xray_trace_id</c> (see <see cref="JsonLogFormatter"/>).
/// </summary>
public static class Tracing
{
    public const string SourceName = "OrderProcessing";
    public const string TraceParentAttribute = "traceparent";
    public const string AwsTraceHeaderAttribute = "AWSTraceHeader";
    public const string XRayHeader = "x-amzn-trace-id";

    /// <summary>Our activities (one per processed message or record); exported when OpenTelemetry listens.</summary>
    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// Starts the activity of one processed message or record, child of <paramref name="parent"/> (the sender's
    /// context) or of the current activity. Without a listener, or when the sampler drops it, a plain activity still
    /// runs so that log lines and outgoing messages keep the trace id.
    /// </summary>
    public static Activity StartConsumer(string name, ActivityContext? parent, IEnumerable<KeyValuePair<string, object?>>? tags = null)
    {
        var context = parent ?? Activity.Current?.Context ?? default;
        var activity = Source.StartActivity(name, ActivityKind.Consumer, context, tags);
        if (activity is not null)
        {
            return activity;
        }

        var plain = new Activity(name);
        if (context != default)
        {
            plain.SetParentId(context.TraceId, context.SpanId, context.TraceFlags);
        }

        foreach (var (key, value) in tags ?? [])
        {
            plain.SetTag(key, value);
        }

        return plain.Start();
    }

    /// <summary>The W3C traceparent of the current activity, or null when there is none.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The context a traceparent names, or null when it is missing or malformed.</summary>
    public static ActivityContext? ParseTraceParent(string? traceParent) =>
        traceParent is { Length: > 0 } && ActivityContext.TryParse(traceParent, null, out var context) ? context : null;

    /// <summary>
    /// The context of an X-Ray trace header (<c>Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1</c>):
    /// the W3C trace id is the root's two hex parts, the parent id is the span id. Null when it is not one.
    /// </summary>
    public static ActivityContext? ParseXRay(string? header)
    {
        if (string.IsNullOrEmpty(header) || header.Length > 256)
        {
            return null;
        }

        string? root = null, parent = null, sampled = null;
        foreach (var part in header.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var (key, value) = (part[..equals], part[(equals + 1)..]);
            switch (key)
            {
                case "Root":
                    root = value;
                    break;
                case "Parent":
                    parent = value;
                    break;
                case "Sampled":
                    sampled = value;
                    break;
            }
        }

        // Root=1-{8 hex epoch seconds}-{24 hex}
        if (root is not { Length: 35 } || !root.StartsWith("1-", StringComparison.Ordinal) || root[10] != '-')
        {
            return null;
        }

        var traceHex = string.Concat(root.AsSpan(2, 8), root.AsSpan(11, 24));
        if (!IsLowerHex(traceHex) || traceHex.All(c => c == '0'))
        {
            return null;
        }

        var spanId = parent is { Length: 16 } && IsLowerHex(parent) && parent.Any(c => c != '0')
            ? ActivitySpanId.CreateFromString(parent)
            : ActivitySpanId.CreateRandom();
        var flags = sampled == "1" ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
        return new ActivityContext(ActivityTraceId.CreateFromString(traceHex), spanId, flags, isRemote: true);
    }

    /// <summary>The X-Ray trace header of a context: Root=1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy;Parent=...;Sampled=0|1.</summary>
    public static string ToXRayHeader(ActivityContext context) =>
        $"Root={XRayTraceId(context.TraceId)};Parent={context.SpanId.ToHexString()};Sampled={((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? 1 : 0)}";

    /// <summary>A W3C trace id in X-Ray's form, 1-{first 8 hex}-{last 24 hex}: what <c>xray_trace_id</c> holds.</summary>
    public static string XRayTraceId(ActivityTraceId traceId) => XRayTraceId(traceId.ToHexString());

    public static string XRayTraceId(string traceIdHex) => $"1-{traceIdHex[..8]}-{traceIdHex[8..]}";

    /// <summary>The W3C traceparent of a context.</summary>
    public static string ToTraceParent(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";

    /// <summary>The sender's context of a message: the AWSTraceHeader system attribute, else a traceparent message attribute.</summary>
    public static ActivityContext? ContextOf(IReadOnlyDictionary<string, string>? systemAttributes, string? traceParentAttribute) =>
        ParseXRay(systemAttributes?.GetValueOrDefault(AwsTraceHeaderAttribute)) ?? ParseTraceParent(traceParentAttribute);

    /// <summary>Adds the trace context (the given one, else the current activity's) to a message we are about to send.</summary>
    public static void Stamp(Dictionary<string, MessageAttributeValue> attributes, Dictionary<string, MessageSystemAttributeValue> systemAttributes,
        ActivityContext? context = null)
    {
        if ((context ?? Activity.Current?.Context) is not { } trace || trace == default)
        {
            return;
        }

        attributes[TraceParentAttribute] = new MessageAttributeValue { DataType = "String", StringValue = ToTraceParent(trace) };
        systemAttributes[AwsTraceHeaderAttribute] = new MessageSystemAttributeValue { DataType = "String", StringValue = ToXRayHeader(trace) };
    }

    private static bool IsLowerHex(string value) => value.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>
    /// Incoming requests continue the caller's trace; OpenTelemetry (and its OTLP exporter) is loaded only when
    /// OTEL_EXPORTER_OTLP_ENDPOINT is set, so a function without a collector pays nothing for it at cold start.
    /// </summary>
    internal static WebApplicationBuilder AddTracing(this WebApplicationBuilder builder)
    {
        builder.Services.Replace(ServiceDescriptor.Singleton<DistributedContextPropagator>(
            new TraceContextPropagator(DistributedContextPropagator.CreateDefaultPropagator())));
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            var service = builder.Configuration["POWERTOOLS_SERVICE_NAME"] ?? "orderprocessing";
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService(service))
                .WithTracing(tracing => tracing
                    .AddSource(SourceName)
                    .AddAspNetCoreInstrumentation(options => options.Filter = context =>
                        !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
                    .AddHttpClientInstrumentation()
                    .AddOtlpExporter());
        }

        return builder;
    }
}

/// <summary>
/// W3C trace context (traceparent, tracestate, baggage) first; without a traceparent, an X-Amzn-Trace-Id header
/// (what API Gateway and the Lambda Web Adapter pass on under active tracing) is read as the parent instead.
/// </summary>
public sealed class TraceContextPropagator(DistributedContextPropagator w3c) : DistributedContextPropagator
{
    public override IReadOnlyCollection<string> Fields { get; } = [.. w3c.Fields, Tracing.XRayHeader];

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) => w3c.Inject(activity, carrier, setter);

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        w3c.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
        if (Tracing.ParseTraceParent(traceId) is not null || getter is null)
        {
            return;
        }

        getter(carrier, Tracing.XRayHeader, out var header, out _);
        if (Tracing.ParseXRay(header) is { } xray)
        {
            traceId = Tracing.ToTraceParent(xray);
            traceState = null;
        }
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        w3c.ExtractBaggage(carrier, getter);
}

internal static class TraceTags
{
    public static KeyValuePair<string, object?>[] Consumer(string system, string source, string? id) =>
    [
        KeyValuePair.Create("messaging.system", (object?)system),
        KeyValuePair.Create("messaging.destination.name", (object?)source),
        KeyValuePair.Create("messaging.message.id", (object?)id),
    ];

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
