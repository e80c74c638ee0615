using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Notifications;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Delivery;

public sealed class DeliveryPipelineTests(CloudFixture cloud)
{
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Order_is_shipped_then_delivered_through_real_queues_with_one_correlation_id_end_to_end()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline);
        var correlationId = $"checkout-{Guid.NewGuid():N}";

        var placed = await pipeline.PlaceOrderAsync(correlationId);
        var order = await pipeline.Data.WaitForOrderAsync(placed.OrderId, o => o.Status == OrderStatus.Delivered);

        Assert.Equal(
            [(OrderStatus.PendingShipment, (OrderStatus?)null), (OrderStatus.Shipped, OrderStatus.PendingShipment), (OrderStatus.Delivered, OrderStatus.Shipped)],
            order.History.Select(h => (h.Status, h.PreviousStatus)));
        Assert.All(order.History, h => Assert.Equal(correlationId, h.CorrelationId));
        Assert.Equal(["orders-api", DeliverySources.CarrierSimulator, DeliverySources.CarrierSimulator], order.History.Select(h => h.Source));

        var shipment = Assert.Single(await pipeline.Data.ShipmentsOfAsync(placed.OrderId));
        Assert.Equal(DeliveryStatus.Delivered, shipment.Status);
        Assert.Equal(correlationId, shipment.CorrelationId);
        Assert.Matches("^OP[A-Z2-9]{16}$", shipment.TrackingNumber);
        Assert.Equal([DeliveryStatus.Created, DeliveryStatus.Shipped, DeliveryStatus.InTransit, DeliveryStatus.Delivered],
            shipment.History.Select(h => h.Status));

        // Orders announces each change once per version: the outbox relay the placed order, the transitions each step of the delivery.
        Assert.Equal([(OrderStatus.PendingShipment, correlationId), (OrderStatus.Shipped, correlationId), (OrderStatus.Delivered, correlationId)],
            pipeline.StatusChanges.For(placed.OrderId).Select(n => (n.Status, n.CorrelationId)));
        Assert.All(pipeline.StatusChanges.For(placed.OrderId), n => Assert.Equal(order.Owner, n.Owner));

        // Every log line the delivery pipeline wrote about this order carries the order's correlation id.
        var lines = pipeline.Logs.Entries.Where(e => e.Category.StartsWith("OrderProcessing.Functions.Delivery", StringComparison.Ordinal)
                                                     && e.Message.Contains(placed.OrderId, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, e => Assert.Equal(correlationId, e.Scope.GetValueOrDefault("correlation_id")));

        await Eventually.HoldsAsync(async () =>
            await pipeline.Data.MessagesInAsync("OrderEventsQueue") + await pipeline.Data.MessagesInAsync("DeliveryStatusQueue")
            + await pipeline.Data.MessagesInAsync("CarrierEventsQueue") == 0);
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("OrderEventsDlq") + await pipeline.Data.MessagesInAsync("DeliveryStatusDlq")
            + await pipeline.Data.MessagesInAsync("CarrierEventsDlq"));
    }

    [Fact]
    public async Task Delivered_arriving_before_shipped_ends_delivered_and_the_late_shipped_changes_nothing()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { CarrierSimulator = false });
        var placed = await pipeline.PlaceOrderAsync();
        await pipeline.Data.WaitForShipmentAsync(placed.OrderId);

        // As a redrive or a carrier's late retry delivers them: DELIVERED first, then the SHIPPED it skipped.
        await pipeline.Data.SendAsync("DeliveryStatusQueue", TestData.StatusChange(placed.OrderId, DeliveryStatus.Delivered), placed.OrderId);
        await pipeline.Data.SendAsync("DeliveryStatusQueue", TestData.StatusChange(placed.OrderId, DeliveryStatus.Shipped), placed.OrderId);
        await Eventually.HoldsAsync(async () => await pipeline.Data.MessagesInAsync("DeliveryStatusQueue") == 0);

        var order = await pipeline.Data.OrderAsync(placed.OrderId);
        Assert.Equal(OrderStatus.Delivered, order!.Status);
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Delivered], order.History.Select(h => h.Status));
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Delivered], pipeline.StatusChanges.For(placed.OrderId).Select(n => n.Status));
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("DeliveryStatusDlq"));
    }

    [Fact]
    public async Task A_failing_push_never_fails_the_status_update()
    {
        // The owner holds a connection, and the @connections endpoint refuses every request.
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with
        {
            RecordStatusChanges = false,
            Settings = new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = "http://127.0.0.1:9/", ["PUSH_RETRY_DELAY_MS"] = "1" },
        });
        var customer = await pipeline.OrderingCustomer;
        await pipeline.Services.GetRequiredService<ConnectionStore>().AddAsync($"conn-{Guid.NewGuid():N}", customer.ClientId, CancellationToken.None);

        var placed = await pipeline.PlaceOrderAsync();
        var order = await pipeline.Data.WaitForOrderAsync(placed.OrderId, o => o.Status == OrderStatus.Delivered);

        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered], order.History.Select(h => h.Status));
        Assert.Equal(0, pipeline.Queues!.For("DeliveryStatusQueue").MessagesFailed);
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("DeliveryStatusDlq"));
        await Eventually.HoldsAsync(() => Task.FromResult(pipeline.Logs.Entries.Any(e =>
            e.Message.StartsWith("Push of DELIVERED for order " + placed.OrderId, StringComparison.Ordinal))));
    }
}
