using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Orders;

/// <summary>Which changes of an order order-events.fifo carries: the ones the delivery pipeline acts on.</summary>
public sealed class OrderEventTests
{
    private static readonly DateTimeOffset Placed = DateTimeOffset.Parse("2026-11-25T09:30:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Order Pending = new(
        "order-1",
        OrderStatus.PendingShipment,
        [new OrderLine("p-1", "Lamp", 2, 10m, 20m)],
        "EUR",
        20m,
        new ShippingAddress("Ada", "1 Main St", null, "London", null, "SW1Y 4JH", "GB"),
        null,
        Placed,
        Placed,
        1)
    { Owner = "client-1", CorrelationId = "corr-placed" };

    [Fact]
    public void A_new_order_is_an_order_created_with_its_lines_and_address()
    {
        var created = OrderEvent.For(null, Pending);

        Assert.NotNull(created);
        Assert.Equal((OrderEvent.Created, "order-1", OrderStatus.PendingShipment, (OrderStatus?)null, 1L, "order-1:1"),
            (created.Type, created.OrderId, created.Status, created.PreviousStatus, created.Version, created.DeduplicationId));
        Assert.Equal("p-1", Assert.Single(created.Items!).ProductId);
        Assert.Equal("SW1Y 4JH", created.ShippingAddress!.PostalCode);
    }

    [Fact]
    public void A_cancellation_is_an_order_cancelled()
    {
        var cancelled = OrderEvent.For(Pending, Changed(Pending, OrderStatus.Cancelled, "corr-cancel"));

        Assert.NotNull(cancelled);
        Assert.Equal((OrderEvent.CancelledType, OrderStatus.Cancelled, (OrderStatus?)OrderStatus.PendingShipment, 2L, "corr-cancel"),
            (cancelled.Type, cancelled.Status, cancelled.PreviousStatus, cancelled.Version, cancelled.CorrelationId));
        Assert.Null(cancelled.Items);
    }

    [Theory]
    [InlineData(OrderStatus.Shipped)]
    [InlineData(OrderStatus.Delivered)]
    [InlineData(OrderStatus.DeliveryFailed)]
    public void A_status_change_the_delivery_pipeline_made_is_not_echoed_to_it(OrderStatus status) =>
        Assert.Null(OrderEvent.For(Pending, Changed(Pending, status, "corr-delivery")));

    [Fact]
    public void A_change_that_leaves_the_status_is_no_event() =>
        Assert.Null(OrderEvent.For(Pending, Pending with { Version = 2 }));

    private static Order Changed(Order order, OrderStatus status, string correlationId) =>
        OrderStore.Changed(order, new StatusChange(status, order.Status, Placed.AddMinutes(5), "test", correlationId));
}
