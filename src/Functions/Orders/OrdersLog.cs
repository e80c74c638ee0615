namespace OrderProcessing.Functions.Orders;

/// <summary>The log lines of the orders capability, with structured fields.</summary>
internal static partial class OrdersLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} placed by {Owner}: {Lines} lines, {Total} {Currency}")]
    public static partial void OrderPlaced(this ILogger logger, string orderId, string owner, int lines, decimal total, string currency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order for {Owner} refused: {Count} items short when reserving")]
    public static partial void OrderRefused(this ILogger logger, string owner, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} cancelled by {Owner}; stock of {Lines} lines released")]
    public static partial void OrderCancelled(this ILogger logger, string orderId, string owner, int lines);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} {From} -> {Status} by {Source}")]
    public static partial void StatusChanged(this ILogger logger, string orderId, OrderStatus from, OrderStatus status, string source);

    [LoggerMessage(Message = "Order {OrderId} is {Status}; {Target} from {Source} changes nothing ({Decision})")]
    public static partial void StatusUnchanged(this ILogger logger, LogLevel level, string orderId, OrderStatus status, OrderStatus target,
        string source, TransitionDecision decision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stream record {SequenceNumber} is not an order; reported as failed")]
    public static partial void RecordNotAnOrder(this ILogger logger, Exception exception, string sequenceNumber);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Order event {DeduplicationId} not accepted by the queue: {Code} {Reason}")]
    public static partial void EventRejected(this ILogger logger, string deduplicationId, string code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Count} order events failed; they will be retried")]
    public static partial void SendFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Status {Status} from {Source} for unknown order {OrderId}")]
    public static partial void StatusForUnknownOrder(this ILogger logger, OrderStatus status, string source, string orderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Announcement claim of order {OrderId} version {Version} not given back; a repeat will not announce it")]
    public static partial void AnnouncementNotReleased(this ILogger logger, Exception exception, string orderId, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Published {Type} of order {OrderId} version {Version}")]
    public static partial void EventPublished(this ILogger logger, string type, string orderId, long version);
}
