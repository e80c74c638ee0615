using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.EventSources;

namespace OrderProcessing.Tests.Platform;

public sealed class TracingTests(CloudFixture cloud)
{
    private const string XRayHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    [Fact]
    public void An_xray_header_is_the_w3c_trace_its_root_and_parent_spell_and_converts_back()
    {
        var context = Assert.NotNull(Tracing.ParseXRay(XRayHeader));

        Assert.Equal("5759e988bd862e3fe1be46a994272793", context.TraceId.ToHexString());
        Assert.Equal("53995c3f42cd8ad8", context.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        Assert.Equal(XRayHeader, Tracing.ToXRayHeader(context));
        Assert.Equal("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", Tracing.ToTraceParent(context));
        Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", Tracing.XRayTraceId(context.TraceId));
    }

    [Theory]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793", true, ActivityTraceFlags.None)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a:1", true, ActivityTraceFlags.None)]
    [InlineData("Self=1-abc;Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", true, ActivityTraceFlags.Recorded)]
    [InlineData("Root=1-5759e988-bd862e3fe1be46a99427279", false, ActivityTraceFlags.None)]
    [InlineData("Root=2-5759e988-bd862e3fe1be46a994272793", false, ActivityTraceFlags.None)]
    [InlineData("Root=1-5759E988-BD862E3FE1BE46A994272793", false, ActivityTraceFlags.None)]
    [InlineData("Root=1-00000000-000000000000000000000000", false, ActivityTraceFlags.None)]
    [InlineData("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", false, ActivityTraceFlags.None)]
    [InlineData("", false, ActivityTraceFlags.None)]
    public void Only_well_formed_xray_headers_are_read(string header, bool read, ActivityTraceFlags flags)
    {
        var context = Tracing.ParseXRay(header);

        Assert.Equal(read, context is not null);
        Assert.Equal(flags, context?.TraceFlags ?? ActivityTraceFlags.None);
    }

    [Theory]
    [InlineData(null, XRayHeader, "5759e988bd862e3fe1be46a994272793")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", XRayHeader, "0af7651916cd43dd8448eb211c80319c")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null, "0af7651916cd43dd8448eb211c80319c")]
    [InlineData("garbage", XRayHeader, "5759e988bd862e3fe1be46a994272793")]
    [InlineData(null, null, null)]
    public void A_request_continues_its_traceparent_else_its_xray_header(string? traceParent, string? xray, string? traceId)
    {
        var headers = new Dictionary<string, string?> { ["traceparent"] = traceParent, ["x-amzn-trace-id"] = xray };
        var propagator = new TraceContextPropagator(DistributedContextPropagator.CreateDefaultPropagator());

        propagator.ExtractTraceIdAndState(headers, (carrier, name, out value, out values) =>
        {
            values = null;
            value = ((Dictionary<string, string?>)carrier!).GetValueOrDefault(name);
        }, out var extracted, out _);

        Assert.Equal(traceId, Tracing.ParseTraceParent(extracted)?.TraceId.ToHexString());
    }

    [Fact]
    public async Task Log_lines_of_a_request_name_the_xray_trace_the_web_adapter_passes_on()
    {
        var logs = new JsonLogCapture();
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("xray"), null, s => s.AddSingleton<ILoggerProvider>(logs));
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/products/none", UriKind.Relative));
        request.Headers.Add("X-Amzn-Trace-Id", XRayHeader);

        using var response = await http.SendAsync(request);

        var lines = logs.Entries.Where(l => l.TryGetProperty("request_path", out var path) && path.GetString() == "/products/none").ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l =>
        {
            Assert.Equal("1-5759e988-bd862e3fe1be46a994272793", l.GetProperty("xray_trace_id").GetString());
            Assert.Equal("5759e988bd862e3fe1be46a994272793", l.GetProperty("trace_id").GetString());
        });
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("http://127.0.0.1:4318", true)]
    public async Task OpenTelemetry_is_loaded_only_when_an_otlp_endpoint_is_configured(string? endpoint, bool loaded)
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("otlp"),
            new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint });
        using var http = app.CreateClient();

        using var response = await http.GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(loaded, app.Services.GetService<OpenTelemetry.Trace.TracerProvider>() is not null);
    }

    /// <summary>
    /// One trace from the HTTP request to the delivery processor: POST /orders with a traceparent → the order keeps it →
    /// the outbox relay continues it from the stream record and sends it with the order event on order-events.fifo
    /// (traceparent message attribute, and AWSTraceHeader where the queue keeps system attributes) → the delivery
    /// processor's activity for that message and its log lines are in the same trace.
    /// </summary>
    [Fact]
    public async Task A_traceparent_on_the_order_request_reaches_the_delivery_processor_through_the_stream_and_the_queue()
    {
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Tracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId.ToHexString() == traceId)
                {
                    activities.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false, CarrierSimulator = false });
        using var events = pipeline.CreateClient();
        var loggers = pipeline.Services.GetRequiredService<ILoggerFactory>();

        List<Amazon.SQS.Model.Message> sent = [];
        Functions.Orders.Order order;
        await using (await StreamEventSources.StartAsync(cloud.Template, cloud.Cloud, pipeline.Stack, events, loggers))
        {
            order = await pipeline.PlaceOrderAsync(traceParent: $"00-{traceId}-b7ad6b7169203331-01");
            await Eventually.HoldsAsync(async () => (sent = await pipeline.Data.PeekAsync("OrderEventsQueue")).Count > 0);
        }

        var message = Assert.Single(sent);
        Assert.Equal(traceId, Tracing.ParseTraceParent(message.MessageAttributes[Tracing.TraceParentAttribute].StringValue)?.TraceId.ToHexString());
        if (message.Attributes?.GetValueOrDefault(Tracing.AwsTraceHeaderAttribute) is { } xray)
        {
            Assert.Equal(traceId, Tracing.ParseXRay(xray)?.TraceId.ToHexString());
        }

        await using (SqsEventSources.Start(cloud.Template, pipeline.Stack, pipeline.Parameters, cloud.Cloud, events, new SqsSourceOptions(), loggers))
        {
            await pipeline.Data.WaitForShipmentAsync(order.OrderId);
        }

        var queue = pipeline.Data.Queue("OrderEventsQueue").Name;
        Assert.Contains(activities, a => a.DisplayName == $"process {queue}" && a.Kind == ActivityKind.Consumer
                                         && (string?)a.GetTagItem("messaging.destination.name") == queue);
        Assert.Contains(activities, a => a.DisplayName.StartsWith("process ", StringComparison.Ordinal) && a.DisplayName.EndsWith("-orders", StringComparison.Ordinal));
        var processorLines = pipeline.JsonLogs.Entries
            .Where(l => l.GetProperty("logger").GetString() == typeof(DeliveryProcessor).FullName
                        && l.GetProperty("message").GetString()!.Contains(order.OrderId, StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(processorLines);
        Assert.All(processorLines, l =>
        {
            Assert.Equal(traceId, l.GetProperty("trace_id").GetString());
            Assert.Equal(Tracing.XRayTraceId(traceId), l.GetProperty("xray_trace_id").GetString());
        });
    }
}
