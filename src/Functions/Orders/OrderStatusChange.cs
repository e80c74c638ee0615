namespace OrderProcessing.Functions.Orders;

/// <summary>An order's status changed and the change is written: version <see cref="Version"/> of the order.</summary>
public sealed record OrderStatusChange(
    string OrderId,
    string Owner,
    OrderStatus Status,
    OrderStatus? PreviousStatus,
    long Version,
    DateTimeOffset OccurredAt,
    string CorrelationId);

/// <summary>
/// Told of every written status change of an order, at least once (the same <see cref="OrderStatusChange.Version"/>
/// may come again after a retry). Orders announces; the WebSocket push is the one observer. An observer never
/// throws: a missed push never undoes or retries a status change, the customer sees it on their next read.
/// </summary>
public interface IOrderStatusObserver
{
    Task OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken);
}
