using System.Text.Json;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Delivery;

/// <summary>
/// Consumes order-events.fifo. OrderCreated → the order's shipment (CREATED, with carrier and tracking number),
/// written once however often or concurrently the event arrives, then published and handed to the carrier.
/// OrderCancelled → the shipment is cancelled unless it was picked up already. Other order events concern
/// nobody here. Every step is safe to repeat, so a message that failed half-way is simply retried.
/// </summary>
public sealed class DeliveryProcessor(
    ShipmentStore shipments,
    ShipmentTransitions shipmentTransitions,
    DeliveryStatusPublisher publisher,
    CarrierSimulator simulator,
    IOptions<CarrierOptions> options,
    Metrics metrics,
    TimeProvider clock,
    QueueRetry retry,
    ILogger<DeliveryProcessor> logger) : ISqsHandler
{
    private const int MaxOrderIdLength = 64;

    public Task<BatchResponse> HandleAsync(SqsEvent sqsEvent, CancellationToken cancellationToken) =>
        SqsBatch.ProcessAsync(sqsEvent, retry, logger, HandleMessageAsync, cancellationToken);

    private async Task HandleMessageAsync(SqsMessage message, string correlationId, CancellationToken cancellationToken)
    {
        var orderEvent = Parse(message);
        switch (orderEvent.Type)
        {
            case OrderEvent.Created:
                await CreateShipmentAsync(orderEvent, correlationId, cancellationToken);
                break;
            case OrderEvent.CancelledType:
                await CancelShipmentAsync(orderEvent, cancellationToken);
                break;
            case OrderEvent.StatusChanged:
                // No longer published; one still in the queue concerns nobody here.
                break;
            default:
                throw new PoisonMessageException($"Order event type '{orderEvent.Type}' is unknown.");
        }
    }

    private async Task CreateShipmentAsync(OrderEvent orderEvent, string correlationId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var shipmentId = ShipmentIds.For(orderEvent.OrderId);
        var created = new ShipmentChange(DeliveryStatus.Created, null, now, now, DeliverySources.DeliveryProcessor, null);
        var (shipment, isNew) = await shipments.CreateAsync(new Shipment(
            shipmentId,
            orderEvent.OrderId,
            options.Value.CarrierName,
            ShipmentIds.NewTrackingNumber(),
            DeliveryStatus.Created,
            now,
            now,
            1,
            correlationId,
            [created]), cancellationToken);
        if (isNew)
        {
            metrics.Count(Metrics.ShipmentsCreated);
            logger.ShipmentCreated(shipment.ShipmentId, shipment.OrderId, shipment.Carrier, shipment.TrackingNumber);
        }
        else
        {
            logger.ShipmentExists(shipment.ShipmentId, shipment.OrderId, shipment.Status);
        }

        // Also when the shipment existed: the delivery that wrote it may have failed before these two steps. (CREATED
        // moves no order, so the publisher sends nothing for it; it still checks its queue.)
        await publisher.PublishAsync(shipment, shipment.History[0], cancellationToken);
        if (options.Value.SimulatorEnabled && shipment.Status == DeliveryStatus.Created)
        {
            await simulator.ScheduleFirstStepAsync(shipment, cancellationToken);
        }
    }

    private async Task CancelShipmentAsync(OrderEvent orderEvent, CancellationToken cancellationToken)
    {
        var shipment = await shipments.GetAsync(ShipmentIds.For(orderEvent.OrderId), cancellationToken)
            ?? throw new PoisonMessageException($"Order {orderEvent.OrderId} was cancelled but has no shipment; its OrderCreated was not processed.");
        var result = await shipmentTransitions.ApplyAsync(shipment, DeliveryStatus.Cancelled, orderEvent.OccurredAt, DeliverySources.DeliveryProcessor, null,
            cancellationToken);
        if (result.Outcome is ShipmentTransitionOutcome.NotAllowed or ShipmentTransitionOutcome.Stale)
        {
            logger.CancelledTooLate(shipment.ShipmentId, orderEvent.OrderId, result.Shipment.Status);
        }
    }

    private static OrderEvent Parse(SqsMessage message)
    {
        OrderEvent? orderEvent;
        try
        {
            orderEvent = JsonSerializer.Deserialize(message.Body, OrdersJson.Default.OrderEvent);
        }
        catch (JsonException e)
        {
            throw new PoisonMessageException($"The body is not an order event: {e.Message}", e);
        }

        if (orderEvent is null || string.IsNullOrEmpty(orderEvent.Type))
        {
            throw new PoisonMessageException("The body is not an order event: it has no type.");
        }

        if (string.IsNullOrEmpty(orderEvent.OrderId) || orderEvent.OrderId.Length > MaxOrderIdLength
            || !orderEvent.OrderId.All(c => c is >= '!' and <= '~'))
        {
            throw new PoisonMessageException("The order event names no valid order id.");
        }

        return orderEvent;
    }
}
