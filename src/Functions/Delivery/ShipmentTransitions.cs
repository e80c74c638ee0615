using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Functions.Delivery;

/// <summary>What applying a status report to a shipment did.</summary>
public enum ShipmentTransitionOutcome
{
    /// <summary>The shipment moved to the reported status, and the change was published.</summary>
    Applied,

    /// <summary>The carrier event id was applied before: nothing changed.</summary>
    Duplicate,

    /// <summary>The shipment is in the reported status already: nothing changed.</summary>
    AlreadyInStatus,

    /// <summary>The shipment has moved past the reported status: nothing changed.</summary>
    Stale,

    /// <summary>The rules do not allow it (cancelling a shipment that was picked up): nothing changed.</summary>
    NotAllowed,
}

public sealed record ShipmentTransitionResult(ShipmentTransitionOutcome Outcome, Shipment Shipment);

/// <summary>
/// Moves a shipment to a reported status for every source (order cancellation, carrier simulator, carrier
/// webhook): asks <see cref="ShipmentStatusRules"/>, writes the change with a conditional update on the
/// version, and publishes it to delivery-status-queue.fifo if it can move the order. Publication is at least once:
/// when a report finds its change already written (a retry after a failure between write and publish), the change
/// is published again under the same event id, which the queue and the status updater both treat as a repeat.
/// A failed publication fails the report (the message is retried, the webhook answers 503 and the carrier sends
/// it again), which is why a change that leads to the same order status as the one before it need not be sent.
/// </summary>
public sealed class ShipmentTransitions(ShipmentStore shipments, DeliveryStatusPublisher publisher, TimeProvider clock, ILogger<ShipmentTransitions> logger)
{
    private const int MaxAttempts = 5;

    public async Task<ShipmentTransitionResult> ApplyAsync(Shipment shipment, DeliveryStatus target, DateTimeOffset occurredAt, string source,
        string? carrierEventId, CancellationToken cancellationToken)
    {
        var current = shipment;
        for (var attempt = 1; ; attempt++)
        {
            if (carrierEventId is not null && current.CarrierEventIds.Contains(carrierEventId))
            {
                if (current.History.LastOrDefault(h => h.CarrierEventId == carrierEventId) is { } caused)
                {
                    await publisher.PublishAsync(current, caused, cancellationToken);
                }

                logger.ShipmentUnchanged(current.ShipmentId, current.Status, target, source, ShipmentTransitionOutcome.Duplicate);
                return new(ShipmentTransitionOutcome.Duplicate, current);
            }

            var decision = ShipmentStatusRules.Decide(current.Status, target);
            if (decision != TransitionDecision.Apply)
            {
                var outcome = decision switch
                {
                    TransitionDecision.AlreadyInStatus => ShipmentTransitionOutcome.AlreadyInStatus,
                    TransitionDecision.Stale => ShipmentTransitionOutcome.Stale,
                    _ => ShipmentTransitionOutcome.NotAllowed,
                };
                if (outcome == ShipmentTransitionOutcome.AlreadyInStatus && current.History.LastOrDefault(h => h.Status == target) is { } reached)
                {
                    await publisher.PublishAsync(current, reached, cancellationToken);
                }

                logger.ShipmentUnchanged(current.ShipmentId, current.Status, target, source, outcome);
                return new(outcome, current);
            }

            var change = new ShipmentChange(target, current.Status, occurredAt, clock.GetUtcNow(), source, carrierEventId);
            if (await shipments.TryApplyAsync(current, change, cancellationToken) is { } updated)
            {
                logger.ShipmentChanged(updated.ShipmentId, current.Status, target, source, updated.OrderId);
                await publisher.PublishAsync(updated, change, cancellationToken);
                return new(ShipmentTransitionOutcome.Applied, updated);
            }

            if (attempt == MaxAttempts)
            {
                throw new InvalidOperationException($"Shipment {shipment.ShipmentId} kept changing while {target.ToWire()} was applied; try again.");
            }

            current = await shipments.GetAsync(shipment.ShipmentId, cancellationToken)
                ?? throw new InvalidOperationException($"Shipment {shipment.ShipmentId} disappeared.");
        }
    }
}
