using System.Collections.Concurrent;
using System.Text.Json;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Delivery;

/// <summary>Each queue carries what its consumer acts on, and nothing it would only receive, delete and ignore.</summary>
public sealed class QueueTrafficTests(CloudFixture cloud)
{
    [Fact]
    public async Task An_order_s_life_sends_each_consumer_only_the_messages_that_change_something()
    {
        var delivered = new SqsDeliveries();
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventDelivery = () => delivered });

        var placed = await pipeline.PlaceOrderAsync();
        var order = await pipeline.Data.WaitForOrderAsync(placed.OrderId, o => o.Status == OrderStatus.Delivered);
        await Eventually.HoldsAsync(async () => await pipeline.Data.MessagesInAsync("OrderEventsQueue") + await pipeline.Data.MessagesInAsync("DeliveryStatusQueue")
            + await pipeline.Data.MessagesInAsync("CarrierEventsQueue") == 0);

        // The order's own SHIPPED and DELIVERED are not echoed to the delivery processor: it made them.
        Assert.Equal([OrderEvent.Created], delivered.Bodies(pipeline.Data.Queue("OrderEventsQueue").Arn, placed.OrderId).Select(b => b.GetProperty("type").GetString()));
        // CREATED moves no order, and IN_TRANSIT after SHIPPED leads where SHIPPED's own message led.
        Assert.Equal(["SHIPPED", "DELIVERED"],
            delivered.Bodies(pipeline.Data.Queue("DeliveryStatusQueue").Arn, placed.OrderId).Select(b => b.GetProperty("deliveryStatus").GetString()));
        Assert.Equal(["SHIPPED", "IN_TRANSIT", "DELIVERED"],
            delivered.Bodies(pipeline.Data.Queue("CarrierEventsQueue").Arn, placed.OrderId).Select(b => b.GetProperty("status").GetString()));

        // Nothing is lost for it: the order and its shipment went through every status, once each.
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], order.History.Select(h => h.Status));
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Shipped, DeliveryStatus.InTransit, DeliveryStatus.Delivered],
            (await pipeline.Data.ShipmentAsync(placed.OrderId))!.History.Select(h => h.Status));
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], pipeline.StatusChanges.For(placed.OrderId).Select(c => c.Status));
    }

    /// <summary>Every SQS message the event source mappings hand to the app, by queue.</summary>
    private sealed class SqsDeliveries : DelegatingHandler
    {
        private readonly ConcurrentQueue<(string QueueArn, string Body)> _messages = new();

        public List<JsonElement> Bodies(string queueArn, string orderId) =>
            _messages.Where(m => m.QueueArn == queueArn && m.Body.Contains(orderId, StringComparison.Ordinal))
                .Select(m => JsonDocument.Parse(m.Body).RootElement.Clone()).ToList();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                using var posted = JsonDocument.Parse(await request.Content.ReadAsStringAsync(cancellationToken));
                if (posted.RootElement.TryGetProperty("Records", out var records))
                {
                    foreach (var record in records.EnumerateArray().Where(r => r.TryGetProperty("eventSource", out var source) && source.GetString() == "aws:sqs"))
                    {
                        _messages.Enqueue((record.GetProperty("eventSourceARN").GetString()!, record.GetProperty("body").GetString()!));
                    }
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
