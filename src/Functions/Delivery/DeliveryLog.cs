namespace OrderProcessing.Functions.Delivery;

/// <summary>The log lines of the delivery capability, with structured fields.</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Shipment {ShipmentId} created for order {OrderId}: {Carrier} {TrackingNumber}")]
    public static partial void ShipmentCreated(this ILogger logger, string shipmentId, string orderId, string carrier, string trackingNumber);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shipment {ShipmentId} of order {OrderId} exists already ({Status}); order event repeated")]
    public static partial void ShipmentExists(this ILogger logger, string shipmentId, string orderId, DeliveryStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shipment {ShipmentId} {From} -> {Status} by {Source} (order {OrderId})")]
    public static partial void ShipmentChanged(this ILogger logger, string shipmentId, DeliveryStatus from, DeliveryStatus status, string source,
        string orderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shipment {ShipmentId} is {Status}; {Target} from {Source} changes nothing ({Outcome})")]
    public static partial void ShipmentUnchanged(this ILogger logger, string shipmentId, DeliveryStatus status, DeliveryStatus target, string source,
        ShipmentTransitionOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Order {OrderId} was cancelled but its shipment {ShipmentId} is {Status} already; not cancelled")]
    public static partial void CancelledTooLate(this ILogger logger, string shipmentId, string orderId, DeliveryStatus status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Published {Status} of shipment {ShipmentId} (order {OrderId})")]
    public static partial void StatusPublished(this ILogger logger, string shipmentId, DeliveryStatus status, string orderId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Status} of shipment {ShipmentId} moves order {OrderId} nowhere new; not published")]
    public static partial void StatusNotPublished(this ILogger logger, string shipmentId, DeliveryStatus status, string orderId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Carrier step {Status} of shipment {ShipmentId} scheduled in {DelaySeconds} s")]
    public static partial void StepScheduled(this ILogger logger, string shipmentId, DeliveryStatus status, int delaySeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivery status {Status} of order {OrderId} leaves the order as it is")]
    public static partial void NoOrderChange(this ILogger logger, string orderId, DeliveryStatus status);


    [LoggerMessage(Level = LogLevel.Warning, Message = "Carrier webhook request refused: signature {Check}")]
    public static partial void WebhookRefused(this ILogger logger, SignatureCheck check);

    [LoggerMessage(Level = LogLevel.Error, Message = "Carrier webhook request refused: CARRIER_WEBHOOK_SECRET is not set")]
    public static partial void WebhookSecretMissing(this ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Carrier event {EventId} names unknown tracking number {TrackingNumber}")]
    public static partial void UnknownTrackingNumber(this ILogger logger, string trackingNumber, string eventId);
}
