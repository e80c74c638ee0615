using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// The message on order-events.fifo, published from the Orders table's stream for the changes of an order that the
/// delivery pipeline acts on: the order placed and the order cancelled.
/// <code>
/// {
///   "type": "OrderCreated" | "OrderCancelled",
///   "orderId": "...", "owner": "client id", "status": "PENDING_SHIPMENT", "previousStatus": null | "...",
///   "version": 1, "occurredAt": "2026-11-25T09:30:00+00:00", "correlationId": "...",
///   "items": [...], "shippingAddress": {...}, "total": 109.70, "currency": "EUR"   (OrderCreated only)
/// }
/// </code>
/// SQS: MessageGroupId = orderId (changes of one order in order), MessageDeduplicationId = orderId:version
/// (a re-delivered stream record is dropped by the queue within its 5-minute deduplication window; consumers
/// still ignore versions they have seen), message attributes <c>correlation_id</c>, <c>event_type</c> and
/// <c>traceparent</c> (String), system attribute <c>AWSTraceHeader</c> (the trace of the change, see <see cref="Platform.Tracing"/>).
/// </summary>
public sealed record OrderEvent(
    string Type,
    string OrderId,
    string Owner,
    OrderStatus Status,
    OrderStatus? PreviousStatus,
    long Version,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<OrderLine>? Items = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ShippingAddress? ShippingAddress = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? Total = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Currency = null)
{
    public const string Created = "OrderCreated";
    public const string CancelledType = "OrderCancelled";

    /// <summary>
    /// An order's other status changes (SHIPPED, DELIVERED, DELIVERY_FAILED), which earlier versions published too; no
    /// longer sent (the delivery pipeline made them itself), still accepted from a queue that holds such messages.
    /// </summary>
    public const string StatusChanged = "OrderStatusChanged";

    public const string CorrelationAttribute = "correlation_id";
    public const string TypeAttribute = "event_type";

    public string DeduplicationId => $"{OrderId}:{Version}";

    /// <summary>The trace of the change (the order's traceparent); sent as message attributes, not in the body.</summary>
    [JsonIgnore]
    public string? TraceParent { get; init; }

    /// <summary>
    /// The event order-events.fifo carries for a change from <paramref name="before"/> (null for a new order) to
    /// <paramref name="after"/>, or null when it carries none: a change that is not a cancellation was made by the
    /// delivery pipeline itself (reported through delivery-status-queue.fifo), and echoing it back would cost a
    /// send, a receive, a delete and an invocation that change nothing.
    /// </summary>
    public static OrderEvent? For(Order? before, Order after)
    {
        if (before is null)
        {
            return new OrderEvent(Created, after.OrderId, after.Owner, after.Status, null, after.Version, after.UpdatedAt, after.CorrelationId,
                after.Items, after.ShippingAddress, after.Total, after.Currency)
            { TraceParent = after.TraceParent };
        }

        if (before.Status == after.Status || after.Status != OrderStatus.Cancelled)
        {
            return null;
        }

        return new OrderEvent(CancelledType, after.OrderId, after.Owner, after.Status, before.Status, after.Version, after.UpdatedAt, after.CorrelationId)
        { TraceParent = after.TraceParent };
    }
}
