using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using static OrderProcessing.Functions.Delivery.DeliveryStatus;

namespace OrderProcessing.Tests.Delivery;

public sealed class DeliveryRulesTests
{
    [Theory]
    [InlineData(Created, Shipped)]
    [InlineData(Shipped, InTransit)]
    [InlineData(InTransit, Delivered)]
    [InlineData(InTransit, Failed)]
    [InlineData(Created, Failed)]
    [InlineData(Created, Cancelled)]
    [InlineData(Created, Delivered)]
    [InlineData(Shipped, Delivered)]
    public void A_shipment_moves_forward_and_may_skip_a_scan_the_carrier_missed(DeliveryStatus from, DeliveryStatus to) =>
        Assert.Equal(TransitionDecision.Apply, ShipmentStatusRules.Decide(from, to));

    [Theory]
    [InlineData(Shipped, Shipped, TransitionDecision.AlreadyInStatus)]
    [InlineData(Delivered, Shipped, TransitionDecision.Stale)]
    [InlineData(Delivered, InTransit, TransitionDecision.Stale)]
    [InlineData(InTransit, Shipped, TransitionDecision.Stale)]
    [InlineData(Delivered, Failed, TransitionDecision.Stale)]
    [InlineData(Cancelled, Shipped, TransitionDecision.Stale)]
    [InlineData(Failed, Delivered, TransitionDecision.Stale)]
    [InlineData(Shipped, Created, TransitionDecision.Stale)]
    public void A_repeated_or_late_status_changes_nothing(DeliveryStatus from, DeliveryStatus to, TransitionDecision expected) =>
        Assert.Equal(expected, ShipmentStatusRules.Decide(from, to));

    [Theory]
    [InlineData(Shipped)]
    [InlineData(InTransit)]
    public void A_shipment_picked_up_already_cannot_be_cancelled(DeliveryStatus from) =>
        Assert.Equal(TransitionDecision.NotAllowed, ShipmentStatusRules.Decide(from, Cancelled));

    [Fact]
    public void Delivery_statuses_map_to_order_statuses_through_one_table()
    {
        Assert.Equal(OrderStatus.Shipped, DeliveryStatusMapping.OrderStatusFor(Shipped));
        Assert.Equal(OrderStatus.Shipped, DeliveryStatusMapping.OrderStatusFor(InTransit));
        Assert.Equal(OrderStatus.Delivered, DeliveryStatusMapping.OrderStatusFor(Delivered));
        Assert.Equal(OrderStatus.DeliveryFailed, DeliveryStatusMapping.OrderStatusFor(Failed));
        Assert.Null(DeliveryStatusMapping.OrderStatusFor(Created));
        Assert.Null(DeliveryStatusMapping.OrderStatusFor(Cancelled));
        Assert.Equal(4, DeliveryStatusMapping.ToOrderStatus.Count);
    }

    [Theory]
    [InlineData(Created, Shipped)]
    [InlineData(Created, InTransit)]
    [InlineData(Shipped, Delivered)]
    [InlineData(InTransit, Delivered)]
    [InlineData(InTransit, Failed)]
    [InlineData(Created, Delivered)]
    [InlineData(Created, Failed)]
    public void A_shipment_change_that_leads_the_order_somewhere_new_is_published(DeliveryStatus from, DeliveryStatus to) =>
        Assert.True(DeliveryStatusMapping.MovesOrder(from, to));

    [Theory]
    [InlineData(null, Created)]
    [InlineData(Created, Cancelled)]
    [InlineData(Shipped, InTransit)]
    public void A_shipment_change_that_leaves_the_order_where_it_is_or_was_sent_is_not_published(DeliveryStatus? from, DeliveryStatus to) =>
        Assert.False(DeliveryStatusMapping.MovesOrder(from, to));

    [Fact]
    public void Every_mapped_delivery_status_moves_a_waiting_order_forward()
    {
        foreach (var (_, orderStatus) in DeliveryStatusMapping.ToOrderStatus)
        {
            Assert.Equal(TransitionDecision.Apply, OrderStatusRules.Decide(OrderStatus.PendingShipment, orderStatus));
        }
    }

    [Fact]
    public void Every_delivery_status_has_a_wire_name_that_parses_back()
    {
        foreach (var status in Enum.GetValues<DeliveryStatus>())
        {
            Assert.Equal(status, ShipmentStatusRules.Parse(status.ToWire()));
        }

        Assert.Equal("IN_TRANSIT", InTransit.ToWire());
        Assert.False(ShipmentStatusRules.TryParse("in_transit", out _));
    }

    [Fact]
    public void The_simulated_carrier_walks_shipped_in_transit_then_delivered_or_failed_by_share()
    {
        Assert.Equal(InTransit, CarrierSimulator.NextStatus("shp-1", Shipped, failurePercent: 0));
        Assert.Equal(Delivered, CarrierSimulator.NextStatus("shp-1", InTransit, failurePercent: 0));
        Assert.Equal(Failed, CarrierSimulator.NextStatus("shp-1", InTransit, failurePercent: 100));
        Assert.Null(CarrierSimulator.NextStatus("shp-1", Delivered, failurePercent: 0));
        Assert.Null(CarrierSimulator.NextStatus("shp-1", Failed, failurePercent: 0));

        var shipments = Enumerable.Range(0, 2000).Select(i => $"shp-{i}").ToList();
        var failed = shipments.Count(id => CarrierSimulator.NextStatus(id, InTransit, failurePercent: 20) == Failed);
        Assert.InRange(failed, 320, 480);
        Assert.All(shipments.Take(50), id =>
            Assert.Equal(CarrierSimulator.NextStatus(id, InTransit, 20), CarrierSimulator.NextStatus(id, InTransit, 20)));
    }

    [Fact]
    public void A_shipment_id_follows_from_its_order_and_status_events_from_the_shipment()
    {
        Assert.Equal(ShipmentIds.For("o-1"), ShipmentIds.For("o-1"));
        Assert.NotEqual(ShipmentIds.For("o-1"), ShipmentIds.For("o-2"));
        Assert.Equal("shp-o-1:IN_TRANSIT", ShipmentIds.StatusEventId(ShipmentIds.For("o-1"), InTransit));
        Assert.NotEqual(ShipmentIds.NewTrackingNumber(), ShipmentIds.NewTrackingNumber());
    }
}
