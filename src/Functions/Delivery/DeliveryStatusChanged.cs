using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// The message on delivery-status-queue.fifo, one per status change of a shipment that can move its order.
/// <code>
/// { "orderId": "...", "shipmentId": "shp-...", "deliveryStatus": "IN_TRANSIT",
///   "occurredAt": "2026-11-25T09:30:00+00:00", "eventId": "shp-...:IN_TRANSIT", "source": "carrier-webhook" }
/// </code>
/// SQS: MessageGroupId = orderId (an order's delivery events in order), MessageDeduplicationId = eventId, message
/// attributes <c>correlation_id</c>, <c>event_type</c> and <c>traceparent</c> (String), system attribute
/// <c>AWSTraceHeader</c>. A shipment reaches each status at most once,
/// so the event id of a status change is the same however often it is published.
/// </summary>
public sealed record DeliveryStatusChanged(
    string OrderId,
    string ShipmentId,
    DeliveryStatus DeliveryStatus,
    DateTimeOffset OccurredAt,
    string EventId,
    string? Source = null)
{
    public const string EventType = nameof(DeliveryStatusChanged);

    public static DeliveryStatusChanged For(Shipment shipment, ShipmentChange change) =>
        new(shipment.OrderId, shipment.ShipmentId, change.Status, change.OccurredAt,
            ShipmentIds.StatusEventId(shipment.ShipmentId, change.Status), change.Source);
}

/// <summary>
/// Publishes shipment status changes to delivery-status-queue.fifo: the queue the delivery service owns,
/// named by DELIVERY_STATUS_QUEUE_URL (never order-updates-queue.fifo). Its one consumer moves orders, so only the
/// changes that can move one are sent (<see cref="DeliveryStatusMapping.MovesOrder"/>); the others are in the
/// shipment's history. Publishing the same change again is harmless: the queue drops it by deduplication id within
/// five minutes, and the status updater ignores it after.
/// </summary>
public sealed class DeliveryStatusPublisher(IAmazonSQS sqs, ResourceNames names, ILogger<DeliveryStatusPublisher> logger)
{
    /// <summary>The queue's name must say what it carries; a misconfigured URL fails loudly instead of feeding another consumer.</summary>
    public const string QueueNameSuffix = "delivery-status-queue.fifo";

    /// <summary>Publishes <paramref name="change"/> of <paramref name="shipment"/> if it can move the order; answers whether it did.</summary>
    public async Task<bool> PublishAsync(Shipment shipment, ShipmentChange change, CancellationToken cancellationToken)
    {
        // Checked on every call, sent or not, so that a misconfiguration shows on the first message.
        var queueUrl = names.DeliveryStatusQueueUrl;
        if (!queueUrl.EndsWith(QueueNameSuffix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"DELIVERY_STATUS_QUEUE_URL must name a queue ending in {QueueNameSuffix}; it is {queueUrl}.");
        }

        if (!DeliveryStatusMapping.MovesOrder(change.PreviousStatus, change.Status))
        {
            logger.StatusNotPublished(shipment.ShipmentId, change.Status, shipment.OrderId);
            return false;
        }

        var message = DeliveryStatusChanged.For(shipment, change);
        var correlationId = shipment.CorrelationId;
        var request = new SendMessageRequest
        {
            QueueUrl = queueUrl,
            MessageBody = JsonSerializer.Serialize(message, DeliveryJson.Default.DeliveryStatusChanged),
            MessageGroupId = message.OrderId,
            MessageDeduplicationId = message.EventId,
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                [Correlation.ItemKey] = new() { DataType = "String", StringValue = correlationId.Length > 0 ? correlationId : "none" },
                ["event_type"] = new() { DataType = "String", StringValue = DeliveryStatusChanged.EventType },
            },
            MessageSystemAttributes = [],
        };
        Tracing.Stamp(request.MessageAttributes, request.MessageSystemAttributes);
        await sqs.SendMessageAsync(request, cancellationToken);
        logger.StatusPublished(message.ShipmentId, message.DeliveryStatus, message.OrderId);
        return true;
    }
}
