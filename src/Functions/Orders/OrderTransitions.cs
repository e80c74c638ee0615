using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Orders;

/// <summary>What a transition did: the decision of the state machine and the order as it now is.</summary>
public sealed record TransitionResult(TransitionDecision Decision, Order? Order)
{
    /// <summary>True when the order changed; false for a repeated, stale or refused transition (none is an error).</summary>
    public bool Changed => Decision == TransitionDecision.Apply;

    public bool OrderFound => Order is not null;
}

/// <summary>
/// Moves an order to a new status for other capabilities (the delivery pipeline): reads the order, asks
/// <see cref="OrderStatusRules"/>, and writes the change and its history entry in one conditional update (status
/// and version). A concurrent change makes it read again and decide again, so a duplicate or stale event changes
/// nothing. Every change it writes is announced to the <see cref="IOrderStatusObserver"/> right after the write,
/// and the write is the announcement's claim: a repeat that finds the order already in a status this class wrote
/// (its history entry's source is not the orders API) announces nothing more, so the claim costs no write and no
/// attribute. An announcement that could not be delivered gives its claim back (<see cref="Order.AnnouncementReleased"/>),
/// and the repeat announces the version again (the observer then claims it, and sees each version once). A status
/// the API wrote (a cancellation) is announced by the stream relay, which the observer claims; a repeat announces it
/// for the observer to claim too. As with any claim taken before the work, a crash between the write and the push
/// loses that push; the customer sees the status on the next read or change.
/// </summary>
public sealed class OrderTransitions(OrderStore orders, IOrderStatusObserver observer, TimeProvider clock, ILogger<OrderTransitions> logger)
{
    private const int MaxAttempts = 5;

    public async Task<TransitionResult> ApplyAsync(string orderId, OrderStatus target, string source, string correlationId,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await orders.GetAsync(orderId, cancellationToken);
            if (current is null)
            {
                logger.StatusForUnknownOrder(target, source, orderId);
                return new TransitionResult(TransitionDecision.NotAllowed, null);
            }

            var decision = OrderStatusRules.Decide(current.Status, target);
            if (decision != TransitionDecision.Apply)
            {
                logger.StatusUnchanged(decision == TransitionDecision.NotAllowed ? LogLevel.Warning : LogLevel.Information,
                    orderId, current.Status, target, source, decision);
                if (decision == TransitionDecision.AlreadyInStatus && current.History.LastOrDefault(h => h.Status == target) is { } reached
                    && (reached.Source == OrderPlacement.Source || current.AnnouncementReleased == current.Version))
                {
                    // Not claimed by a write of this class, or the claim was given back: the observer claims it.
                    await observer.OnStatusChangedAsync(ChangeOf(current, reached), cancellationToken);
                }

                return new TransitionResult(decision, current);
            }

            var change = new StatusChange(target, current.Status, clock.GetUtcNow(), source, correlationId);
            if (await orders.TryApplyAsync(current, change, cancellationToken) is { } updated)
            {
                logger.StatusChanged(orderId, current.Status, target, source);
                if (!await observer.OnStatusChangedAsync(ChangeOf(updated, change) with { AnnouncementClaimed = true }, cancellationToken))
                {
                    try
                    {
                        await orders.ReleaseAnnouncementAsync(orderId, updated.Version, CancellationToken.None);
                    }
                    catch (Exception e) when (Problems.IsUnavailable(e))
                    {
                        logger.AnnouncementNotReleased(e, orderId, updated.Version);
                    }
                }

                return new TransitionResult(TransitionDecision.Apply, updated);
            }

            if (attempt == MaxAttempts)
            {
                throw new InvalidOperationException($"Order {orderId} kept changing while {target.ToWire()} was applied; try again.");
            }
        }
    }

    private static OrderStatusChange ChangeOf(Order order, StatusChange change) =>
        new(order.OrderId, order.Owner, change.Status, change.PreviousStatus, order.Version, change.At, change.CorrelationId);
}
