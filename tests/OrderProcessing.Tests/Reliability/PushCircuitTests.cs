using System.Net;
using System.Net.Http.Json;
using System.Text;
using Amazon.SQS.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using Polly.CircuitBreaker;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// The WebSocket API's management endpoint failing must not hold up the order pipeline: pushes are given up
/// (the circuit opens and keeps calls away), status changes are still applied, and pushes come back by themselves
/// once the endpoint recovers. The local host's @connections endpoint is reached through a switch that answers 503
/// while the test says the endpoint is down.
/// </summary>
public sealed class PushCircuitTests(CloudFixture cloud)
{
    private const int Orders = 3;
    private const int AttemptsPerPush = 4; // the management client's first try and 3 retries

    /// <summary>
    /// Figure: with @connections answering 503, 3 orders placed and shipped → 3 × SHIPPED applied with their history
    /// entries, 0 status messages failed or dead-lettered, pushes refused by the open circuit, fewer calls reaching the
    /// endpoint than 4 per push; after it recovers (breaker of 1 s half-opens and closes) every DELIVERED is pushed.
    /// </summary>
    [Fact]
    public async Task With_the_push_endpoint_failing_the_circuit_opens_status_updates_still_apply_and_pushes_resume_after_recovery()
    {
        await using var endpoint = await PushEndpointSwitch.StartAsync();
        await using var system = await SystemFixture.StartAsync(cloud, new SystemOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["WEBSOCKET_CALLBACK_URL"] = endpoint.CallbackUrl.ToString(),
                ["PUSH_RETRY_DELAY_MS"] = "1",
                ["PUSH_BREAKER_MIN_THROUGHPUT"] = "2",
                ["PUSH_BREAKER_SECONDS"] = "1",
            },
            Parameters = new Dictionary<string, string> { ["EnableCarrierSimulator"] = "false" },
        });
        endpoint.Target = system.Host.WebSockets.CallbackUrl;
        var (_, token) = await system.NewCustomerAsync("push-circuit");
        await using var frames = new FrameRecorder(await system.ConnectAsync(token));
        using var customer = system.Client(token);
        var product = await system.Data.AddProductAsync(stock: 100);

        endpoint.Failing = true;
        var placed = new List<Order>();
        for (var i = 0; i < Orders; i++)
        {
            placed.Add(await PlaceAsync(customer, product));
        }

        foreach (var order in placed)
        {
            await Eventually.HoldsAsync(async () => (await system.Data.ShipmentsAsync()).Any(s => s.OrderId == order.OrderId));
            await SendStatusAsync(system, order.OrderId, DeliveryStatus.Shipped);
        }

        foreach (var order in placed)
        {
            var shipped = await system.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Shipped);
            Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped], shipped.History.Select(h => h.Status));
        }

        await system.Data.WaitUntilDrainedAsync("DeliveryStatusQueue");
        var pushesWhileDown = Orders * 2; // PENDING_SHIPMENT from the outbox relay, SHIPPED from the status updater
        await Eventually.HoldsAsync(() => Task.FromResult(PushFailures(system).Count >= pushesWhileDown),
            lastSeen: () => $"{PushFailures(system).Count} failed pushes logged");
        var callsWhileDown = endpoint.Calls;
        Assert.Empty(frames.StatusChanges);
        Assert.Contains(PushFailures(system), e => e.Exception is BrokenCircuitException);
        Assert.InRange(callsWhileDown, 1, (pushesWhileDown * AttemptsPerPush) - 1);
        Assert.Equal(0, system.Queues.For("DeliveryStatusQueue").MessagesFailed);
        Assert.Equal(0, await system.Data.MessagesInAsync("DeliveryStatusDlq"));

        // Recovered: the first order placed after the break that gets its push through proves the circuit closed again.
        endpoint.Failing = false;
        await Eventually.HoldsAsync(async () =>
        {
            var probe = await PlaceAsync(customer, product);
            await Task.Delay(200);
            return frames.StatusChanges.Contains((probe.OrderId, "PENDING_SHIPMENT"));
        }, TimeSpan.FromSeconds(30), () => "no push came through after the endpoint recovered");

        foreach (var order in placed)
        {
            await SendStatusAsync(system, order.OrderId, DeliveryStatus.Delivered);
        }

        await Eventually.HoldsAsync(() => Task.FromResult(placed.All(o => frames.StatusChanges.Contains((o.OrderId, "DELIVERED")))),
            lastSeen: () => $"{frames.StatusChanges.Count(c => c.Status == "DELIVERED")} of {Orders} DELIVERED pushed");
        foreach (var order in placed)
        {
            var delivered = await system.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered);
            Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], delivered.History.Select(h => h.Status));
            Assert.Equal(["DELIVERED"], frames.StatusChanges.Where(c => c.OrderId == order.OrderId).Select(c => c.Status));
        }
    }

    private static List<CapturedLogs.Entry> PushFailures(SystemFixture system) =>
        system.Logs.Entries.Where(e => e.Message.StartsWith("Push of ", StringComparison.Ordinal) && e.Message.EndsWith(" failed", StringComparison.Ordinal))
            .ToList();

    private static async Task<Order> PlaceAsync(HttpClient customer, string product)
    {
        using var response = await customer.PostAsync(new Uri("/orders", UriKind.Relative),
            new StringContent(TestData.OrderBody([(product, 1)]), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Order>(TestData.Json))!;
    }

    /// <summary>A carrier's status report, as the webhook publishes it to delivery-status-queue.fifo.</summary>
    private static Task<SendMessageResponse> SendStatusAsync(SystemFixture system, string orderId, DeliveryStatus status) =>
        system.Data.Sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = system.Host.Stack.Queues["DeliveryStatusQueue"].Url,
            MessageBody = TestData.StatusChange(orderId, status),
            MessageGroupId = orderId,
            MessageDeduplicationId = Guid.NewGuid().ToString("N"),
        });

    /// <summary>Stands in front of the local @connections endpoint: forwards each push, or answers 503 while failing.</summary>
    private sealed class PushEndpointSwitch : IAsyncDisposable
    {
        private readonly WebApplication _app;
        // Re-signed for the gateway's own host, as the app's client signs (the signature covers the host).
        private readonly HttpClient _forward = ConnectionsApiClients.SignedHttp();
        private int _calls;

        private PushEndpointSwitch(WebApplication app) => _app = app;

        public Uri CallbackUrl => new($"{_app.Urls.First()}/local");

        /// <summary>The real management endpoint (the gateway's callback URL).</summary>
        public Uri? Target { get; set; }

        public bool Failing { get; set; }

        /// <summary>Pushes that reached this endpoint, answered or refused.</summary>
        public int Calls => Volatile.Read(ref _calls);

        public static async Task<PushEndpointSwitch> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var endpoint = new PushEndpointSwitch(app);
            app.MapPost("/{stage}/@connections/{connectionId}", endpoint.ForwardAsync);
            await app.StartAsync();
            return endpoint;
        }

        private async Task<IResult> ForwardAsync(string connectionId, HttpRequest request)
        {
            Interlocked.Increment(ref _calls);
            if (Failing || Target is null)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            using var content = new StreamContent(request.Body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var answer = await _forward.PostAsync(new Uri($"{Target.ToString().TrimEnd('/')}/@connections/{Uri.EscapeDataString(connectionId)}"), content);
            return Results.StatusCode((int)answer.StatusCode);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _forward.Dispose();
        }
    }
}
