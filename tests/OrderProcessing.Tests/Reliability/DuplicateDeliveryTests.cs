using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// SQS and DynamoDB Streams deliver at least once. Every consumer must make a repeat change nothing, whether the
/// copy arrives while the first is still running or after it finished.
/// </summary>
public sealed class DuplicateDeliveryTests(CloudFixture cloud)
{
    private const int Orders = 4;

    private static readonly string[] WorkingQueues = ["OrderEventsQueue", "CarrierEventsQueue", "DeliveryStatusQueue"];

    /// <summary>
    /// Figure: every record of every source (the Orders stream → publisher, order-events.fifo, carrier-events,
    /// delivery-status-queue.fifo) handled twice → per order exactly 1 shipment, 3 history entries, 3 WebSocket
    /// notifications (PENDING_SHIPMENT, SHIPPED, DELIVERED) and metrics counting each once.
    /// </summary>
    [Fact]
    public async Task Every_message_and_stream_record_delivered_twice_gives_one_shipment_one_history_entry_and_one_push_per_status()
    {
        var delivery = new TwiceDelivery();
        await using var system = await SystemFixture.StartAsync(cloud, new SystemOptions
        {
            EventDelivery = inner => delivery.With(inner),
        });
        var (_, token) = await system.NewCustomerAsync("duplicate-delivery");
        await using var frames = new FrameRecorder(await system.ConnectAsync(token));
        using var customer = system.Client(token);
        var product = await system.Data.AddProductAsync(stock: 100);

        var placed = new List<Order>();
        for (var i = 0; i < Orders; i++)
        {
            using var response = await customer.PostAsync(new Uri("/orders", UriKind.Relative),
                new StringContent(TestData.OrderBody([(product, 1)]), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            placed.Add((await response.Content.ReadFromJsonAsync<Order>(TestData.Json))!);
        }

        foreach (var order in placed)
        {
            await system.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered);
        }

        // Let every copy still on its way arrive, then count.
        await system.Data.WaitUntilDrainedAsync(WorkingQueues);
        await frames.QuietAsync(TimeSpan.FromSeconds(2));

        var queues = system.Host.Stack.Queues;
        Assert.All(WorkingQueues, queue => Assert.True(delivery.RecordsDeliveredTwice(queues[queue].Arn) > 0, $"nothing from {queue} was delivered twice"));
        Assert.True(delivery.RecordsDeliveredTwice(system.Streams.Sources.Single().Arn) >= Orders * 3,
            "the Orders stream records were not delivered twice");

        var shipments = await system.Data.ShipmentsAsync();
        foreach (var order in placed)
        {
            var stored = (await system.Data.OrderAsync(order.OrderId))!;
            Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], stored.History.Select(h => h.Status));
            var shipment = Assert.Single(shipments, s => s.OrderId == order.OrderId);
            Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Shipped, DeliveryStatus.InTransit, DeliveryStatus.Delivered],
                shipment.History.Select(h => h.Status));
            Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], frames.StatusChanges.Where(c => c.OrderId == order.OrderId).Select(c => c.Status));
        }

        Assert.Equal(Orders, shipments.Count);
        Assert.Equal(Orders * 3, frames.StatusChanges.Count);
        Assert.Equal(Orders, system.Metric(Metrics.OrdersCreated));
        Assert.Equal(Orders, system.Metric(Metrics.ShipmentsCreated));
        Assert.Equal(Orders * 2, system.Metric(Metrics.StatusUpdatesApplied));
        Assert.Equal(Orders * 3, system.Metric(Metrics.NotificationsSent));
        Assert.Equal(Orders, system.Logs.Entries.Count(e => e.Message.StartsWith("Shipment shp-", StringComparison.Ordinal)
                                                              && e.Message.Contains(" created for order ", StringComparison.Ordinal)));
        foreach (var dlq in new[] { "OrderEventsDlq", "CarrierEventsDlq", "DeliveryStatusDlq" })
        {
            Assert.Equal(0, await system.Data.MessagesInAsync(dlq));
        }
    }

    /// <summary>
    /// Posts every event to /events twice: every other event the two copies run at once (a race), the rest one after
    /// the other (a redelivery). The event source acts on the second answer.
    /// </summary>
    private sealed class TwiceDelivery
    {
        private readonly ConcurrentDictionary<string, int> _records = new(StringComparer.Ordinal);
        private int _events;

        /// <summary>Records of this event source ARN that were delivered twice.</summary>
        public int RecordsDeliveredTwice(string sourceArn) => _records.GetValueOrDefault(sourceArn);

        public HttpMessageHandler With(HttpMessageHandler inner) => new Handler(this) { InnerHandler = inner };

        private sealed class Handler(TwiceDelivery counts) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsStringAsync(cancellationToken);
                foreach (var record in JsonNode.Parse(body)?["Records"]?.AsArray() ?? [])
                {
                    counts._records.AddOrUpdate(record?["eventSourceARN"]?.GetValue<string>() ?? "", 1, (_, n) => n + 1);
                }

                HttpRequestMessage Copy() => new(request.Method, request.RequestUri) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (Interlocked.Increment(ref counts._events) % 2 == 0)
                {
                    var answers = await Task.WhenAll(base.SendAsync(Copy(), cancellationToken), base.SendAsync(Copy(), cancellationToken));
                    answers[0].Dispose();
                    return answers[1];
                }

                (await base.SendAsync(Copy(), cancellationToken)).Dispose();
                return await base.SendAsync(Copy(), cancellationToken);
            }
        }
    }
}
