using System.Text.Json.Serialization;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Functions.Delivery;

/// <summary>Where a shipment is. The wire and table form is the upper-case name (IN_TRANSIT).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus
{
    [JsonStringEnumMemberName("CREATED")]
    Created,

    [JsonStringEnumMemberName("SHIPPED")]
    Shipped,

    [JsonStringEnumMemberName("IN_TRANSIT")]
    InTransit,

    [JsonStringEnumMemberName("DELIVERED")]
    Delivered,

    [JsonStringEnumMemberName("FAILED")]
    Failed,

    [JsonStringEnumMemberName("CANCELLED")]
    Cancelled,
}

/// <summary>
/// The shipment state machine: CREATED → SHIPPED (picked up) → IN_TRANSIT → DELIVERED, FAILED from any
/// state before DELIVERED, CANCELLED only from CREATED. Carriers miss scans and deliver webhooks out of order,
/// so a shipment may skip forward (CREATED → DELIVERED); it never moves back, and a repeated or late event
/// changes nothing.
/// </summary>
public static class ShipmentStatusRules
{
    public static bool IsTerminal(DeliveryStatus status) =>
        status is DeliveryStatus.Delivered or DeliveryStatus.Failed or DeliveryStatus.Cancelled;

    /// <summary>Distance from the start of the shipment's life: a transition never lowers it.</summary>
    public static int Stage(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Created => 0,
        DeliveryStatus.Shipped => 1,
        DeliveryStatus.InTransit => 2,
        _ => 3,
    };

    public static TransitionDecision Decide(DeliveryStatus current, DeliveryStatus target)
    {
        if (current == target)
        {
            return TransitionDecision.AlreadyInStatus;
        }

        if (IsTerminal(current) || Stage(target) < Stage(current))
        {
            return TransitionDecision.Stale;
        }

        return target switch
        {
            DeliveryStatus.Cancelled => current == DeliveryStatus.Created ? TransitionDecision.Apply : TransitionDecision.NotAllowed,
            DeliveryStatus.Created => TransitionDecision.Stale,
            _ => TransitionDecision.Apply,
        };
    }

    /// <summary>The wire and table form, such as IN_TRANSIT.</summary>
    public static string ToWire(this DeliveryStatus status) => status switch
    {
        DeliveryStatus.Created => "CREATED",
        DeliveryStatus.Shipped => "SHIPPED",
        DeliveryStatus.InTransit => "IN_TRANSIT",
        DeliveryStatus.Delivered => "DELIVERED",
        DeliveryStatus.Failed => "FAILED",
        DeliveryStatus.Cancelled => "CANCELLED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static bool TryParse(string? value, out DeliveryStatus status)
    {
        foreach (var candidate in Enum.GetValues<DeliveryStatus>())
        {
            if (string.Equals(candidate.ToWire(), value, StringComparison.Ordinal))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }

    public static DeliveryStatus Parse(string value) =>
        TryParse(value, out var status) ? status : throw new FormatException($"'{value}' is not a delivery status.");
}

/// <summary>
/// How a delivery status moves the order: the one table that says so. A status without an entry changes
/// nothing on the order (CREATED: the order is already waiting for shipment; CANCELLED: the order was cancelled
/// first, which is why its shipment was).
/// </summary>
public static class DeliveryStatusMapping
{
    public static readonly IReadOnlyDictionary<DeliveryStatus, OrderStatus> ToOrderStatus = new Dictionary<DeliveryStatus, OrderStatus>
    {
        [DeliveryStatus.Shipped] = OrderStatus.Shipped,
        [DeliveryStatus.InTransit] = OrderStatus.Shipped,
        [DeliveryStatus.Delivered] = OrderStatus.Delivered,
        [DeliveryStatus.Failed] = OrderStatus.DeliveryFailed,
    };

    /// <summary>The order status a delivery status leads to, or null when it leaves the order as it is.</summary>
    public static OrderStatus? OrderStatusFor(DeliveryStatus status) =>
        ToOrderStatus.TryGetValue(status, out var orderStatus) ? orderStatus : null;

    /// <summary>
    /// Whether a shipment's move from <paramref name="previous"/> (null: none, a new shipment) to <paramref name="status"/>
    /// can move its order: the new status leads to an order status, and not to the one the previous status led to
    /// (IN_TRANSIT after SHIPPED: the order was sent to SHIPPED by that change's own publication). Only these changes
    /// are published to delivery-status-queue.fifo.
    /// </summary>
    public static bool MovesOrder(DeliveryStatus? previous, DeliveryStatus status) =>
        OrderStatusFor(status) is { } target && (previous is not { } before || OrderStatusFor(before) != target);
}
