using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Platform.Idempotency;
using OrderProcessing.Functions.Products;
using static OrderProcessing.Functions.Platform.DynamoItem;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// Placing and cancelling orders. Each is one DynamoDB transaction: the order item, a conditional stock
/// change per line, and the completed idempotency record when the request carried a key. Either all of it
/// is written or nothing is.
/// </summary>
public sealed class OrderPlacement(
    IAmazonDynamoDB dynamo,
    OrderStore orders,
    ProductStore products,
    IdempotencyStore idempotency,
    IOptions<HttpJsonOptions> json,
    Metrics metrics,
    TimeProvider clock,
    ILogger<OrderPlacement> logger)
{
    /// <summary>The history source of changes made through the orders API.</summary>
    public const string Source = "orders-api";

    /// <summary>Attempts of a transaction that collided with a concurrent one on the same item.</summary>
    private const int MaxAttempts = 4;

    public async Task<IdempotentOutcome> PlaceAsync(CreateOrderRequest request, string owner, IdempotencyClaim? claim, HttpContext http,
        CancellationToken cancellationToken)
    {
        var lines = request.Items!;
        var catalogue = await products.GetManyAsync(lines.Select(l => l.ProductId!), cancellationToken);
        var availability = Availability.Evaluate(lines, catalogue);
        if (!availability.Available)
        {
            // Known short from a consistent read: no transaction needed to say so.
            metrics.Count(Metrics.OrdersRejectedInsufficientStock);
            return new(Unavailable(http, availability.Items), ResponseStorage.Save);
        }

        var currencies = lines.Select(l => catalogue[l.ProductId!].Currency).Distinct(StringComparer.Ordinal).ToList();
        if (currencies.Count > 1)
        {
            return new(Problem(http, StatusCodes.Status422UnprocessableEntity, "mixed-currencies", "The items are priced in different currencies.",
                $"One order is paid in one currency; these items are priced in {string.Join(", ", currencies)}."), ResponseStorage.Save);
        }

        var now = clock.GetUtcNow();
        var correlationId = http.CorrelationId();
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
        var response = StoredResponse.Json(StatusCodes.Status201Created, order, OrdersJson.Default.Order, $"/orders/{order.OrderId}");

        var write = new List<TransactWriteItem>(lines.Count + 2);
        write.AddRange(priced.Select(l => StockChange(l.ProductId, -l.Quantity)));
        write.Add(orders.PutNew(order));
        if (claim is not null)
        {
            write.Add(idempotency.CompletionInTransaction(claim, response));
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
                logger.OrderPlaced(order.OrderId, owner, priced.Count, order.Total, order.Currency);
                metrics.Count(Metrics.OrdersCreated);
                return new(response, ResponseStorage.SavedWithWrite);
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
                    return new(Unavailable(http, lines.Select((l, i) => failedLines.TryGetValue(i, out var reason)
                        ? ShortItem(l, reason)
                        : new ItemAvailability(l.ProductId!, l.Quantity, catalogue[l.ProductId!].Stock, true, null)).ToList()),
                        ResponseStorage.Save);
                }

                if (claim is not null && reasons.Count == write.Count && reasons[^1].Code == "ConditionalCheckFailed")
                {
                    return new(ClaimLost(http), ResponseStorage.Discard);
                }

                if (!await RetryConflictAsync(reasons, attempt, cancellationToken))
                {
                    throw;
                }
            }
        }
    }

    public async Task<IdempotentOutcome> CancelAsync(string orderId, string owner, IdempotencyClaim? claim, HttpContext http,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var order = await orders.GetAsync(orderId, cancellationToken);
            if (order is null || order.Owner != owner)
            {
                return new(Problem(http, StatusCodes.Status404NotFound, "order-not-found", "No such order.", $"You have no order {orderId}."),
                    ResponseStorage.Save);
            }

            switch (OrderStatusRules.Decide(order.Status, OrderStatus.Cancelled))
            {
                case TransitionDecision.AlreadyInStatus:
                    return new(StoredResponse.Json(StatusCodes.Status200OK, order, OrdersJson.Default.Order), ResponseStorage.Save);
                case TransitionDecision.Stale or TransitionDecision.NotAllowed:
                    return new(NotCancellable(http, order), ResponseStorage.Save);
            }

            var change = new StatusChange(OrderStatus.Cancelled, order.Status, clock.GetUtcNow(), Source, http.CorrelationId());
            var cancelled = OrderStore.Changed(order, change);
            var response = StoredResponse.Json(StatusCodes.Status200OK, cancelled, OrdersJson.Default.Order);
            var write = new List<TransactWriteItem> { new() { Update = orders.StatusChange(order, change) } };
            write.AddRange(order.Items.Select(l => StockChange(l.ProductId, +l.Quantity)));
            if (claim is not null)
            {
                write.Add(idempotency.CompletionInTransaction(claim, response));
            }

            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
                logger.OrderCancelled(orderId, owner, order.Items.Count);
                return new(response, ResponseStorage.SavedWithWrite);
            }
            catch (TransactionCanceledException e)
            {
                var reasons = e.CancellationReasons ?? [];
                if (claim is not null && reasons.Count == write.Count && reasons[^1].Code == "ConditionalCheckFailed")
                {
                    return new(ClaimLost(http), ResponseStorage.Discard);
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

    /// <summary>Reserves (negative) or releases (positive) stock of one product, only if the product exists and has enough.</summary>
    private TransactWriteItem StockChange(string productId, int delta) => new()
    {
        Update = new Update
        {
            TableName = products.Table,
            Key = ProductStore.Key(productId),
            UpdateExpression = "SET stock = stock + :delta",
            ConditionExpression = delta < 0 ? "attribute_exists(productId) AND stock >= :needed" : "attribute_exists(productId)",
            ExpressionAttributeValues = delta < 0
                ? new Dictionary<string, AttributeValue> { [":delta"] = N(delta), [":needed"] = N(-delta) }
                : new Dictionary<string, AttributeValue> { [":delta"] = N(delta) },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        },
    };

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

    private StoredResponse Unavailable(HttpContext http, IReadOnlyList<ItemAvailability> items) =>
        StoredResponse.Problem(http, new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Type = Problems.Type(OrderProblems.InsufficientStock),
            Title = "Some items are not available.",
            Detail = "Nothing was ordered and no stock was reserved. See items for what is short.",
            Extensions = { ["items"] = items },
        }, json.Value.SerializerOptions);

    private StoredResponse NotCancellable(HttpContext http, Order order) =>
        StoredResponse.Problem(http, new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Type = Problems.Type(OrderProblems.NotCancellable),
            Title = "The order can no longer be cancelled.",
            Detail = $"Only an order that is PENDING_SHIPMENT can be cancelled; this one is {order.Status.ToWire()}.",
            Extensions = { ["currentStatus"] = order.Status.ToWire() },
        }, json.Value.SerializerOptions);

    private StoredResponse ClaimLost(HttpContext http) =>
        Problem(http, StatusCodes.Status409Conflict, "request-in-progress", "A request with this Idempotency-Key is still in progress.",
            "This request took longer than the key's in-progress timeout and another took the key over; retry to get its response.");

    private StoredResponse Problem(HttpContext http, int status, string slug, string title, string detail) =>
        StoredResponse.Problem(http, new ProblemDetails { Status = status, Type = Problems.Type(slug), Title = title, Detail = detail },
            json.Value.SerializerOptions);
}

/// <summary>Problem type slugs of the orders capability.</summary>
public static class OrderProblems
{
    public const string InsufficientStock = "insufficient-stock";
    public const string NotCancellable = "order-not-cancellable";
    public const string NotFound = "order-not-found";
}
