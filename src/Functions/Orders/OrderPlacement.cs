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

    /// <summary>The request's Idempotency-Key was used before (the order's write was refused on its record); nothing was written.</summary>
    public sealed record KeyUsed : PlacementOutcome;
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

    /// <summary>The request's Idempotency-Key was used before (the cancellation's write was refused on its record); nothing was written.</summary>
    public sealed record KeyUsed : CancellationOutcome;
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
    CataloguePrices prices,
    Metrics metrics,
    TimeProvider clock,
    ILogger<OrderPlacement> logger)
{
    /// <summary>The history source of changes made through the orders API.</summary>
    public const string Source = "orders-api";

    /// <summary>Attempts of a transaction that collided with a concurrent one on the same item.</summary>
    private const int MaxAttempts = 4;

    /// <summary>
    /// Attempts of an order whose stock changed under it. Each is planned from a fresh consistent read, and of
    /// racing orders one always wins, so this bounds how often one order can lose, not whether any succeeds.
    /// </summary>
    private const int MaxStockAttempts = 12;

    /// <summary>
    /// Places an order; <c>alsoWrite</c> makes from the order an item written in the same transaction (the idempotency
    /// record). Priced from the prices this instance remembers; the transaction holds each line's stock change
    /// conditioned on the product's revision, so it is written only at current prices. A failed condition (stock
    /// short on the shard tried, or the product changed) reads the products afresh and either refuses with what is
    /// on hand or tries again, priced and planned from what was read.
    /// </summary>
    public async Task<PlacementOutcome> PlaceAsync(CreateOrderRequest request, string owner, string correlationId,
        Func<Order, Task<TransactWriteItem>>? alsoWrite, CancellationToken cancellationToken)
    {
        var lines = request.Items!;
        var ids = lines.Select(l => l.ProductId!).ToList();
        var (catalogue, fresh) = await prices.GetAsync(ids, cancellationToken);
        var now = clock.GetUtcNow();
        var orderId = Guid.CreateVersion7(now).ToString();
        for (var attempt = 1; ; attempt++)
        {
            var availability = Availability.Evaluate(lines, catalogue);
            if (fresh && !availability.Available)
            {
                // Known short from a consistent read: no transaction needed to say so.
                var shortItems = availability.Items.Count(i => !i.Available);
                logger.OrderRefused(owner, shortItems);
                metrics.Count(Metrics.OrdersRejectedInsufficientStock);
                return new PlacementOutcome.Unavailable(availability.Items);
            }

            var currencies = lines.Select(l => catalogue[l.ProductId!].Currency).Distinct(StringComparer.Ordinal).ToList();
            if (currencies.Count > 1)
            {
                if (fresh)
                {
                    return new PlacementOutcome.MixedCurrencies(currencies);
                }

                // Remembered prices say so; a refusal is given only on what DynamoDB holds now.
                (catalogue, fresh) = (await prices.ReadAsync(ids, cancellationToken), true);
                continue;
            }

            var takes = lines.Select(l => StockPlan.Take(catalogue[l.ProductId!], l.Quantity, fresh, Random.Shared)).ToList();
            var order = Price(request, owner, correlationId, orderId, now, catalogue, takes);
            var write = new List<TransactWriteItem>(lines.Count + 2);
            var stockItems = 0;
            for (var i = 0; i < lines.Count; i++)
            {
                var product = catalogue[lines[i].ProductId!];
                foreach (var take in takes[i]!)
                {
                    write.Add(products.Reserve(product.ProductId, take, product.Revision));
                    stockItems++;
                }
            }

            write.Add(orders.PutNew(order));
            if (alsoWrite is not null)
            {
                write.Add(await alsoWrite(order));
            }

            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
                logger.OrderPlaced(order.OrderId, owner, order.Items.Count, order.Total, order.Currency);
                metrics.Count(Metrics.OrdersCreated);
                return new PlacementOutcome.Placed(order);
            }
            catch (TransactionCanceledException e)
            {
                var reasons = e.CancellationReasons ?? [];
                if (KeyUsed(reasons, write, alsoWrite))
                {
                    // The same request was answered before (a retry), or a concurrent duplicate wrote first: its answer stands.
                    return new PlacementOutcome.KeyUsed();
                }

                if (reasons.Take(stockItems).Any(r => r.Code == "ConditionalCheckFailed") && attempt < MaxStockAttempts)
                {
                    // A shard was short, or the product changed since it was priced: read it all again and decide anew.
                    (catalogue, fresh) = (await prices.ReadAsync(ids, cancellationToken), true);
                    continue;
                }

                if (!await RetryConflictAsync(reasons, attempt, cancellationToken))
                {
                    throw;
                }
            }
        }
    }

    private static Order Price(CreateOrderRequest request, string owner, string correlationId, string orderId, DateTimeOffset now,
        IReadOnlyDictionary<string, Product> catalogue, List<IReadOnlyList<ShardTake>?> takes)
    {
        var priced = request.Items!.Select((l, i) =>
        {
            var product = catalogue[l.ProductId!];
            return new OrderLine(product.ProductId, product.Name, l.Quantity, product.Price, product.Price * l.Quantity) { Taken = takes[i]! };
        }).ToList();
        return new Order(
            orderId,
            OrderStatus.PendingShipment,
            priced,
            catalogue[priced[0].ProductId].Currency,
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
    }

    /// <summary>Cancels an order; <c>alsoWrite</c> makes from the cancelled order an item written in the same transaction.</summary>
    public async Task<CancellationOutcome> CancelAsync(string orderId, string owner, string correlationId,
        Func<Order, Task<TransactWriteItem>>? alsoWrite, CancellationToken cancellationToken)
    {
        var releaseToFirstShard = false;
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
            write.AddRange(order.Items.SelectMany(l => (releaseToFirstShard ? [new ShardTake(0, l.Quantity)] : l.Taken)
                .Select(t => products.Release(l.ProductId, t))));
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
                if (KeyUsed(reasons, write, alsoWrite))
                {
                    return new CancellationOutcome.KeyUsed();
                }

                var orderChanged = reasons.Count > 0 && reasons[0].Code == "ConditionalCheckFailed";
                if (reasons.Skip(1).Take(write.Count - 1 - (alsoWrite is null ? 0 : 1)).Any(r => r.Code == "ConditionalCheckFailed"))
                {
                    // A shard the stock came from is gone (the product has fewer shards now): the first shard always exists.
                    releaseToFirstShard = true;
                    orderChanged = true;
                }

                if (attempt == MaxAttempts || !(orderChanged || await RetryConflictAsync(reasons, attempt, cancellationToken)))
                {
                    throw;
                }

                // The order changed under us (shipped, cancelled by a parallel request): decide again on what it is now.
            }
        }
    }

    /// <summary>Whether the transaction failed on the caller's own item, the last one (the idempotency record: its key was used).</summary>
    private static bool KeyUsed(List<CancellationReason> reasons, List<TransactWriteItem> write, object? alsoWrite) =>
        alsoWrite is not null && reasons.Count == write.Count && reasons[^1].Code == "ConditionalCheckFailed";

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
