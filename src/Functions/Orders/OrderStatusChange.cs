namespace OrderProcessing.Functions.Orders;

/// <summary>An order's status changed and the change is written: version <see cref="Version"/> of the order.</summary>
public sealed record OrderStatusChange(
    string OrderId,
    string Owner,
    OrderStatus Status,
    OrderStatus? PreviousStatus,
    long Version,
    DateTimeOffset OccurredAt,
    string CorrelationId)
{
    /// <summary>
    /// True when the write that made the change is also its announcement's claim (the delivery pipeline's, see
    /// <see cref="OrderTransitions"/>): this is the one announcement of the version, and the observer need not claim it.
    /// </summary>
    public bool AnnouncementClaimed { get; init; }
}

/// <summary>
/// Told of every written status change of an order, at least once (the same <see cref="OrderStatusChange.Version"/>
/// may come again after a retry, unless its announcement was claimed). Orders announces; the WebSocket push is the
/// one observer. An observer never throws: a missed push never undoes or retries a status change, the customer
/// sees it on their next read.
/// </summary>
public interface IOrderStatusObserver
{
    /// <summary>Answers false when the change could not be delivered at all, so that a claimed announcement is given back.</summary>
    Task<bool> OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken);
}
