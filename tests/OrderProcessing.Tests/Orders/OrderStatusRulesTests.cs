using OrderProcessing.Functions.Orders;
using static OrderProcessing.Functions.Orders.OrderStatus;

namespace OrderProcessing.Tests.Orders;

public sealed class OrderStatusRulesTests
{
    [Theory]
    [InlineData(PendingShipment, Shipped)]
    [InlineData(Shipped, Delivered)]
    [InlineData(PendingShipment, Cancelled)]
    [InlineData(Shipped, DeliveryFailed)]
    [InlineData(PendingShipment, Delivered)]
    [InlineData(PendingShipment, DeliveryFailed)]
    public void Forward_transitions_of_the_life_cycle_are_applied(OrderStatus from, OrderStatus to) =>
        Assert.Equal(TransitionDecision.Apply, OrderStatusRules.Decide(from, to));

    [Theory]
    [InlineData(PendingShipment)]
    [InlineData(Shipped)]
    [InlineData(Delivered)]
    [InlineData(DeliveryFailed)]
    [InlineData(Cancelled)]
    public void A_repeated_transition_changes_nothing(OrderStatus status) =>
        Assert.Equal(TransitionDecision.AlreadyInStatus, OrderStatusRules.Decide(status, status));

    [Theory]
    [InlineData(Shipped, PendingShipment)]
    [InlineData(Delivered, Shipped)]
    [InlineData(Delivered, PendingShipment)]
    [InlineData(DeliveryFailed, Shipped)]
    [InlineData(Cancelled, PendingShipment)]
    [InlineData(Cancelled, Shipped)]
    [InlineData(Delivered, DeliveryFailed)]
    [InlineData(Delivered, Cancelled)]
    public void A_late_transition_to_an_earlier_or_other_final_status_is_stale(OrderStatus from, OrderStatus to) =>
        Assert.Equal(TransitionDecision.Stale, OrderStatusRules.Decide(from, to));

    [Fact]
    public void Cancelling_a_shipped_order_is_not_allowed() =>
        Assert.Equal(TransitionDecision.NotAllowed, OrderStatusRules.Decide(Shipped, Cancelled));

    [Fact]
    public void A_late_shipped_after_a_delivery_that_skipped_it_is_stale()
    {
        Assert.Equal(TransitionDecision.Apply, OrderStatusRules.Decide(PendingShipment, Delivered));
        Assert.Equal(TransitionDecision.Stale, OrderStatusRules.Decide(Delivered, Shipped));
        Assert.Equal(TransitionDecision.Stale, OrderStatusRules.Decide(DeliveryFailed, Shipped));
    }

    [Fact]
    public void Every_status_has_a_wire_name_that_parses_back()
    {
        foreach (var status in Enum.GetValues<OrderStatus>())
        {
            Assert.Equal(status, OrderStatusRules.Parse(status.ToWire()));
        }

        Assert.Equal("PENDING_SHIPMENT", PendingShipment.ToWire());
        Assert.False(OrderStatusRules.TryParse("pending_shipment", out _));
    }
}
