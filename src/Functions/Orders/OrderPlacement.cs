using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Functions.Orders;

/// <summary>What placing an order came to.</summary>
public abstract record PlacementOutcome
{
    private PlacementOutcome()
    {
    }

    /// <summary>The order is written and its stock reserved.</summary>
    public sealed record Placed(Order Order) : PlacementOutcome;

    /// <summary>Some items are unknown or short; nothing was written. Every requested item is listed with what is on hand.</summary>
    public sealed record Unavailable(IReadOnlyList<ItemAvailability> Items) : PlacementOutcome;

    /// <summary>The items are priced in more than one currency; nothing was written.</summary>
    public sealed record MixedCurrencies(IReadOnlyList<string> Currencies) : PlacementOutcome;

    /// <summary>The request's Idempotency-Key was taken over by another request while this one ran; nothing was written.</summary>
    public sealed record KeyTakenOver : PlacementOutcome;
}

/// <summary>What cancelling an order came to.</summary>
public abstract record CancellationOutcome
{
    private CancellationOutcome()
    {
    }

    /// <summary>The order is cancelled now and its stock released.</summary>
    public sealed record Cancelled(Order Order) : CancellationOutcome;

    /// <summary>It was cancelled before: nothing changed.</summary>
    public sealed record AlreadyCancelled(Order Order) : CancellationOutcome;

    /// <summary>The caller has no such order.</summary>
    public sealed record NotFound(string OrderId) : CancellationOutcome;

    /// <summary>The order has moved past the point where it can be cancelled.</summary>
    public sealed record NotCancellable(Order Order) : CancellationOutcome;

    /// <summary>The request's Idempotency-Key was taken over by another request while this one ran; nothing was written.</summary>
    public sealed record KeyTakenOver : CancellationOutcome;
}

/// <summary>
/// Placing and cancelling orders. Each is one DynamoDB transaction: the order item, the stock change of every line
/// (<see cref="ProductStore"/>'s conditional updates), and whatever the caller adds to it (the completed
/// idempotency record when the request carried a key). Either all of it is written or nothing is.
/// </summary>
public sealed class OrderPlacement(
    IAmazonDynamoDB dynamo,
    OrderStore orders,
    ProductStore products,
    Metrics metrics,
    TimeProvider clock,
    ILogger<OrderPlacement> logger)
{
    /// <summary>The history source of changes made through the orders API.</summary>
    public const string Source = "orders-api";

    /// <summary>Attempts of a transaction that collided with a concurrent one on the same item.</summary>
    private const int MaxAttempts = 4;

    /// <summary>Places an order; <c>alsoWrite</c> makes from the order an item written in the same transaction (the idempotency record).</summary>
    public async Task<PlacementOutcome> PlaceAsync(CreateOrderRequest request, string owner, string correlationId,
        Func<Order, Task<TransactWriteItem>>? alsoWrite, CancellationToken cancellationToken)
    {
        var lines = request.Items!;
        var catalogue = await products.GetManyAsync(lines.Select(l => l.ProductId!), cancellationToken);
        var availability = Availability.Evaluate(lines, catalogue);
        if (!availability.Available)
        {
            // Known short from a consistent read: no transaction needed to say so.
            metrics.Count(Metrics.OrdersRejectedInsufficientStock);
            return new PlacementOutcome.Unavailable(availability.Items);
        }

        var currencies = lines.Select(l => catalogue[l.ProductId!].Currency).Distinct(StringComparer.Ordinal).ToList();
        if (currencies.Count > 1)
        {
            return new PlacementOutcome.MixedCurrencies(currencies);
        }

        var now = clock.GetUtcNow();
        var priced = lines.Select(l =>
        {
            var product = catalogue[l.ProductId!];
            return new OrderLine(product.ProductId, product.Name, l.Quantity, product.Price, product.Price * l.Quantity);
        }).ToList();
        var order = new Order(
            Guid.CreateVersion7(now).ToString(),
            OrderStatus.PendingShipment,
            priced,
            currencies[0],
            priced.Sum(l => l.LineTotal),
            OrderRequestRules.ToAddress(request.ShippingAddress!),
            string.IsNullOrWhiteSpace(request.CustomerReference) ? null : request.CustomerReference.Trim(),
            now,
            now,
            1)
        {
            Owner = owner,
            CorrelationId = correlationId,
            History = [new StatusChange(OrderStatus.PendingShipment, null, now, Source, correlationId)],
        };

        var write = new List<TransactWriteItem>(lines.Count + 2);
        write.AddRange(priced.Select(l => products.StockChange(l.ProductId, -l.Quantity)));
        write.Add(orders.PutNew(order));
        if (alsoWrite is not null)
        {
            write.Add(await alsoWrite(order));
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
                logger.OrderPlaced(order.OrderId, owner, priced.Count, order.Total, order.Currency);
                metrics.Count(Metrics.OrdersCreated);
                return new PlacementOutcome.Placed(order);
            }
            catch (TransactionCanceledException e)
            {
                var reasons = e.CancellationReasons ?? [];
                var failedLines = Enumerable.Range(0, Math.Min(lines.Count, reasons.Count))
                    .Where(i => reasons[i].Code == "ConditionalCheckFailed")
                    .ToDictionary(i => i, i => reasons[i]);
                if (failedLines.Count > 0)
                {
                    logger.OrderRefused(owner, failedLines.Count);
                    metrics.Count(Metrics.OrdersRejectedInsufficientStock);
                    return new PlacementOutcome.Unavailable(lines.Select((l, i) => failedLines.TryGetValue(i, out var reason)
                        ? ShortItem(l, reason)
                        : new ItemAvailability(l.ProductId!, l.Quantity, catalogue[l.ProductId!].Stock, true, null)).ToList());
                }

                if (alsoWrite is not null && reasons.Count == write.Count && reasons[^1].Code == "ConditionalCheckFailed")
                {
                    return new PlacementOutcome.KeyTakenOver();
                }

                if (!await RetryConflictAsync(reasons, attempt, cancellationToken))
                {
                    throw;
                }
            }
        }
    }

    /// <summary>Cancels an order; <c>alsoWrite</c> makes from the cancelled order an item written in the same transaction.</summary>
    public async Task<CancellationOutcome> CancelAsync(string orderId, string owner, string correlationId,
        Func<Order, Task<TransactWriteItem>>? alsoWrite, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var order = await orders.GetAsync(orderId, cancellationToken);
            if (order is null || order.Owner != owner)
            {
                return new CancellationOutcome.NotFound(orderId);
            }

            switch (OrderStatusRules.Decide(order.Status, OrderStatus.Cancelled))
            {
                case TransitionDecision.AlreadyInStatus:
                    return new CancellationOutcome.AlreadyCancelled(order);
                case TransitionDecision.Stale or TransitionDecision.NotAllowed:
                    return new CancellationOutcome.NotCancellable(order);
            }

            var change = new StatusChange(OrderStatus.Cancelled, order.Status, clock.GetUtcNow(), Source, correlationId);
            var cancelled = OrderStore.Changed(order, change);
            var write = new List<TransactWriteItem> { new() { Update = orders.StatusChange(order, change) } };
            write.AddRange(order.Items.Select(l => products.StockChange(l.ProductId, +l.Quantity)));
            if (alsoWrite is not null)
            {
                write.Add(await alsoWrite(cancelled));
            }

            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
                logger.OrderCancelled(orderId, owner, order.Items.Count);
                return new CancellationOutcome.Cancelled(cancelled);
            }
            catch (TransactionCanceledException e)
            {
                var reasons = e.CancellationReasons ?? [];
                if (alsoWrite is not null && reasons.Count == write.Count && reasons[^1].Code == "ConditionalCheckFailed")
                {
                    return new CancellationOutcome.KeyTakenOver();
                }

                var orderChanged = reasons.Count > 0 && reasons[0].Code == "ConditionalCheckFailed";
                if (attempt == MaxAttempts || !(orderChanged || await RetryConflictAsync(reasons, attempt, cancellationToken)))
                {
                    throw;
                }

                // The order changed under us (shipped, cancelled by a parallel request): decide again on what it is now.
            }
        }
    }

    private static ItemAvailability ShortItem(RequestedItem line, CancellationReason reason) =>
        reason.Item is { Count: > 0 } product
            ? new ItemAvailability(line.ProductId!, line.Quantity, (int)product.WholeNumber("stock"), false, UnavailableReason.InsufficientStock)
            : new ItemAvailability(line.ProductId!, line.Quantity, 0, false, UnavailableReason.UnknownProduct);

    /// <summary>Waits and says to try again when the transaction only collided with another one.</summary>
    private static async Task<bool> RetryConflictAsync(List<CancellationReason> reasons, int attempt, CancellationToken cancellationToken)
    {
        if (attempt >= MaxAttempts || !reasons.Any(r => r.Code is "TransactionConflict" or "ThrottlingError"))
        {
            return false;
        }

        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 40) * attempt), cancellationToken);
        return true;
    }
}

/// <summary>The problem types of the orders capability, each defined once.</summary>
public static class OrderProblems
{
    public static readonly ProblemType InsufficientStock = new("insufficient-stock", StatusCodes.Status409Conflict, "Some items are not available.");

    public static readonly ProblemType NotCancellable =
        new("order-not-cancellable", StatusCodes.Status409Conflict, "The order can no longer be cancelled.");

    public static readonly ProblemType NotFound = new("order-not-found", StatusCodes.Status404NotFound, "No such order.");

    public static readonly ProblemType MixedCurrencies =
        new("mixed-currencies", StatusCodes.Status422UnprocessableEntity, "The items are priced in different currencies.");
}
