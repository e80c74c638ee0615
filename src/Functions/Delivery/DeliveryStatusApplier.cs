using System.Text.Json;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// Consumes delivery-status-queue.fifo: maps each delivery status to an order status through
/// <see cref="DeliveryStatusMapping"/> and applies it with <see cref="OrderTransitions"/> (a conditional update
/// that only moves forward and appends to the order's history; Orders announces the change, which is how it is
/// pushed). A repeated or late event changes nothing and succeeds. A status for an order that does not exist is
/// reported failed, so it reaches the DLQ instead of vanishing.
/// </summary>
public sealed class DeliveryStatusApplier(OrderTransitions orders, Metrics metrics, QueueRetry retry, ILogger<DeliveryStatusApplier> logger)
    : ISqsHandler
{
    private static readonly HashSet<string> KnownSources =
        [DeliverySources.DeliveryProcessor, DeliverySources.CarrierSimulator, DeliverySources.CarrierWebhook];

    public Task<BatchResponse> HandleAsync(SqsEvent sqsEvent, CancellationToken cancellationToken) =>
        SqsBatch.ProcessAsync(sqsEvent, retry, logger, HandleMessageAsync, cancellationToken);

    private async Task HandleMessageAsync(SqsMessage message, string correlationId, CancellationToken cancellationToken)
    {
        var change = Parse(message);
        if (DeliveryStatusMapping.OrderStatusFor(change.DeliveryStatus) is not { } target)
        {
            logger.NoOrderChange(change.OrderId, change.DeliveryStatus);
            return;
        }

        var source = change.Source is { } reported && KnownSources.Contains(reported) ? reported : "delivery";
        var result = await orders.ApplyAsync(change.OrderId, target, source, correlationId, cancellationToken);
        if (!result.OrderFound)
        {
            throw new PoisonMessageException($"Order {change.OrderId} of shipment {change.ShipmentId} does not exist.");
        }

        if (!result.Changed)
        {
            if (result.Decision is TransitionDecision.Stale or TransitionDecision.AlreadyInStatus)
            {
                metrics.Count(Metrics.StaleStatusEventsIgnored);
            }

            return;
        }

        var order = result.Order!;
        var applied = order.History[^1];
        metrics.Count(Metrics.StatusUpdatesApplied);
        if (order.Status == OrderStatus.Delivered)
        {
            metrics.Milliseconds(Metrics.OrderPlacedToDeliveredLatency, (applied.At - order.CreatedAt).TotalMilliseconds);
        }
    }

    private static DeliveryStatusChanged Parse(SqsMessage message)
    {
        DeliveryStatusChanged? change;
        try
        {
            change = JsonSerializer.Deserialize(message.Body, DeliveryJson.Default.DeliveryStatusChanged);
        }
        catch (JsonException e)
        {
            throw new PoisonMessageException($"The body is not a delivery status change: {e.Message}", e);
        }

        return change is { OrderId.Length: > 0, ShipmentId.Length: > 0 }
            ? change
            : throw new PoisonMessageException("The delivery status change names no order or shipment.");
    }
}
