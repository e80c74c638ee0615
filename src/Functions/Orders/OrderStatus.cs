using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Orders;

/// <summary>Where an order is in its life. The wire and table form is the upper-case name (PENDING_SHIPMENT).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OrderStatus>))]
public enum OrderStatus
{
    [JsonStringEnumMemberName("PENDING_SHIPMENT")]
    PendingShipment,

    [JsonStringEnumMemberName("SHIPPED")]
    Shipped,

    [JsonStringEnumMemberName("DELIVERED")]
    Delivered,

    [JsonStringEnumMemberName("DELIVERY_FAILED")]
    DeliveryFailed,

    [JsonStringEnumMemberName("CANCELLED")]
    Cancelled,
}

/// <summary>What applying a transition to an order in a given status means.</summary>
public enum TransitionDecision
{
    /// <summary>The transition is allowed: write it.</summary>
    Apply,

    /// <summary>The order is already in the target status (a repeated event or request): nothing to do.</summary>
    AlreadyInStatus,

    /// <summary>The order has moved past the target (a late, out-of-date event): nothing to do.</summary>
    Stale,

    /// <summary>The rules do not allow it from the current status (such as cancelling a shipped order).</summary>
    NotAllowed,
}

/// <summary>
/// The order state machine, the one place that knows it:
/// PENDING_SHIPMENT → SHIPPED → DELIVERED, PENDING_SHIPMENT → CANCELLED, SHIPPED → DELIVERY_FAILED.
/// Delivery reports may skip the shipping step (a carrier delivers or fails before its pick-up scan reaches us,
/// or the SHIPPED report arrives late), so PENDING_SHIPMENT → DELIVERED and → DELIVERY_FAILED are forward too.
/// Transitions only move forward; a stale or repeated one changes nothing and is not an error.
/// </summary>
public static class OrderStatusRules
{
    private static readonly Dictionary<OrderStatus, OrderStatus[]> Allowed = new()
    {
        [OrderStatus.PendingShipment] = [OrderStatus.Shipped, OrderStatus.Delivered, OrderStatus.DeliveryFailed, OrderStatus.Cancelled],
        [OrderStatus.Shipped] = [OrderStatus.Delivered, OrderStatus.DeliveryFailed],
        [OrderStatus.Delivered] = [],
        [OrderStatus.DeliveryFailed] = [],
        [OrderStatus.Cancelled] = [],
    };

    public static bool IsTerminal(OrderStatus status) => Allowed[status].Length == 0;

    /// <summary>Distance from the start of the life cycle: a transition never lowers it.</summary>
    public static int Stage(OrderStatus status) => status switch
    {
        OrderStatus.PendingShipment => 0,
        OrderStatus.Shipped => 1,
        _ => 2,
    };

    public static TransitionDecision Decide(OrderStatus current, OrderStatus target)
    {
        if (current == target)
        {
            return TransitionDecision.AlreadyInStatus;
        }

        if (Allowed[current].Contains(target))
        {
            return TransitionDecision.Apply;
        }

        return IsTerminal(current) || Stage(target) < Stage(current)
            ? TransitionDecision.Stale
            : TransitionDecision.NotAllowed;
    }

    /// <summary>The wire and table form, such as PENDING_SHIPMENT.</summary>
    public static string ToWire(this OrderStatus status) => status switch
    {
        OrderStatus.PendingShipment => "PENDING_SHIPMENT",
        OrderStatus.Shipped => "SHIPPED",
        OrderStatus.Delivered => "DELIVERED",
        OrderStatus.DeliveryFailed => "DELIVERY_FAILED",
        OrderStatus.Cancelled => "CANCELLED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static bool TryParse(string? value, out OrderStatus status)
    {
        foreach (var candidate in Enum.GetValues<OrderStatus>())
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

    public static OrderStatus Parse(string value) =>
        TryParse(value, out var status) ? status : throw new FormatException($"'{value}' is not an order status.");
}
