namespace OrderProcessing.Functions.Orders;

/// <summary>What a status update did: the decision of the state machine and the order as it now is.</summary>
public sealed record StatusUpdateResult(TransitionDecision Decision, Order? Order)
{
    /// <summary>True when the order changed; false for a repeated, stale or refused transition (none is an error).</summary>
    public bool Changed => Decision == TransitionDecision.Apply;

    public bool OrderFound => Order is not null;
}

/// <summary>
/// Moves an order to a new status for other capabilities (the delivery status updater): reads the order,
/// asks <see cref="OrderStatusRules"/>, and writes the change and its history entry in one conditional update
/// (status and version). A concurrent change makes it read again and decide again, so a duplicate or stale
/// event changes nothing.
/// </summary>
public sealed class OrderStatusUpdater(OrderStore orders, TimeProvider clock, ILogger<OrderStatusUpdater> logger)
{
    private const int MaxAttempts = 5;

    public async Task<StatusUpdateResult> ApplyAsync(string orderId, OrderStatus target, string source, string correlationId,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await orders.GetAsync(orderId, cancellationToken);
            if (current is null)
            {
                logger.StatusForUnknownOrder(target, source, orderId);
                return new StatusUpdateResult(TransitionDecision.NotAllowed, null);
            }

            var decision = OrderStatusRules.Decide(current.Status, target);
            if (decision != TransitionDecision.Apply)
            {
                logger.StatusUnchanged(decision == TransitionDecision.NotAllowed ? LogLevel.Warning : LogLevel.Information,
                    orderId, current.Status, target, source, decision);
                return new StatusUpdateResult(decision, current);
            }

            var change = new StatusChange(target, current.Status, clock.GetUtcNow(), source, correlationId);
            if (await orders.TryApplyAsync(current, change, cancellationToken) is { } updated)
            {
                logger.StatusChanged(orderId, current.Status, target, source);
                return new StatusUpdateResult(TransitionDecision.Apply, updated);
            }

            if (attempt == MaxAttempts)
            {
                throw new InvalidOperationException($"Order {orderId} kept changing while {target.ToWire()} was applied; try again.");
            }
        }
    }
}
