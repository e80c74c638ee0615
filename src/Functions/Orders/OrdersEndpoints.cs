using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Platform.Idempotency;
using CancelOrderResult = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Ok<OrderProcessing.Functions.Orders.Order>,
    Microsoft.AspNetCore.Http.HttpResults.ValidationProblem,
    OrderProcessing.Functions.Platform.NotFoundProblem,
    OrderProcessing.Functions.Platform.ConflictProblem,
    OrderProcessing.Functions.Platform.Idempotency.IdempotencyRefusal>;
using PlaceOrderResult = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Created<OrderProcessing.Functions.Orders.Order>,
    Microsoft.AspNetCore.Http.HttpResults.ValidationProblem,
    OrderProcessing.Functions.Platform.ConflictProblem,
    OrderProcessing.Functions.Platform.UnprocessableProblem,
    OrderProcessing.Functions.Platform.Idempotency.IdempotencyRefusal>;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// Orders: place (orders:write, idempotent), read and list the caller's own (orders:read), history, cancel
/// (orders:write, idempotent). Another client's order does not exist for the caller: 404, never 403.
/// </summary>
public static class OrdersEndpoints
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    private const int MaxOrderIdLength = 64;

    public static IServiceCollection AddOrders(this IServiceCollection services)
    {
        services.AddSingleton<OrderStore>();
        services.AddSingleton<OrderPlacement>();
        services.AddSingleton<OrderTransitions>();
        services.AddIdempotency();
        services.AddDynamoDbStreamHandler<OrderEventsPublisher>(ResourceNames.OrdersTableVariable);
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, OrdersJson.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapOrders(this IEndpointRouteBuilder app)
    {
        var write = app.MapGroup("/orders").WithTags("Orders").RequireAuthorization(Scopes.OrdersWrite)
            .AcceptsIdempotencyKey()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        write.MapPost("", CreateOrderAsync)
            .WithName("CreateOrder")
            .WithSummary("Places an order: every item must be available; its stock is reserved in the same atomic write.")
            .WithDescription("Send an Idempotency-Key header to make retries safe: the first response is replayed for 24 h.")
            .WithRequestExample(OrderExamples.CreateRequest)
            .WithResponseExample(StatusCodes.Status201Created, OrderExamples.Order)
            .WithResponseExample(StatusCodes.Status409Conflict, OrderExamples.InsufficientStock);
        write.MapPost("/{id}/cancel", CancelOrderAsync)
            .WithName("CancelOrder")
            .WithSummary("Cancels an order that has not shipped yet and releases its stock; cancelling twice changes nothing.")
            .WithResponseExample(StatusCodes.Status200OK, OrderExamples.CancelledOrder)
            .WithResponseExample(StatusCodes.Status409Conflict, OrderExamples.NotCancellable);

        var read = app.MapGroup("/orders").WithTags("Orders").RequireAuthorization(Scopes.OrdersRead)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        read.MapGet("", ListOrdersAsync)
            .WithName("ListOrders").WithSummary("The caller's orders, newest first.")
            .WithResponseExample(StatusCodes.Status200OK, OrderExamples.Page);
        read.MapGet("/{id}", GetOrderAsync)
            .WithName("GetOrder").WithSummary("One of the caller's orders.")
            .WithResponseExample(StatusCodes.Status200OK, OrderExamples.Order);
        read.MapGet("/{id}/history", GetOrderHistoryAsync)
            .WithName("GetOrderHistory").WithSummary("Every status change of one of the caller's orders.")
            .WithResponseExample(StatusCodes.Status200OK, OrderExamples.History);
        return app;
    }

    public static async Task<PlaceOrderResult> CreateOrderAsync(
        CreateOrderRequest request, HttpContext http, ClaimsPrincipal user, OrderPlacement placement, IdempotencyStore idempotency)
    {
        if (!IdempotentRequest.TryReadKey(http, out var key, out var keyProblem))
        {
            return keyProblem!;
        }

        var validation = OrderRequestRules.Validate(request);
        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var owner = user.ClientId();
        var use = IdempotentRequest.Use("POST /orders", owner, key,
            () => IdempotencyDecision.Hash(JsonSerializer.Serialize(request, OrdersJson.Default.CreateOrderRequest)));
        return await IdempotentRequest.RunAsync<PlaceOrderResult>(
            http, idempotency, use, async () =>
            {
                var outcome = await placement.PlaceAsync(request, owner, http.CorrelationId(),
                    IdempotentRequest.SaveInTransaction(http, idempotency, use, (Order order) => Created(order)), http.RequestAborted);
                return outcome switch
                {
                    PlacementOutcome.Placed placed => new(Created(placed.Order), ResponseStorage.SavedWithWrite),
                    PlacementOutcome.Unavailable unavailable => new(new ConflictProblem(OrderProblems.InsufficientStock,
                        "Nothing was ordered and no stock was reserved. See items for what is short.",
                        new Dictionary<string, object?> { ["items"] = unavailable.Items }), ResponseStorage.Save),
                    PlacementOutcome.MixedCurrencies mixed => new(new UnprocessableProblem(OrderProblems.MixedCurrencies,
                        $"One order is paid in one currency; these items are priced in {string.Join(", ", mixed.Currencies)}."), ResponseStorage.Save),
                    _ => IdempotentAnswer.KeyUsed<PlaceOrderResult>(),
                };
            }, refusal => refusal);
    }

    public static async Task<CancelOrderResult> CancelOrderAsync(
        string id, HttpContext http, ClaimsPrincipal user, OrderPlacement placement, IdempotencyStore idempotency)
    {
        if (!IdempotentRequest.TryReadKey(http, out var key, out var keyProblem))
        {
            return keyProblem!;
        }

        var owner = user.ClientId();
        if (id.Length > MaxOrderIdLength)
        {
            return OrderNotFound(id);
        }

        var use = IdempotentRequest.Use("POST /orders/{id}/cancel", owner, key, () => IdempotencyDecision.Hash(id));
        return await IdempotentRequest.RunAsync<CancelOrderResult>(
            http, idempotency, use, async () =>
            {
                var outcome = await placement.CancelAsync(id, owner, http.CorrelationId(),
                    IdempotentRequest.SaveInTransaction(http, idempotency, use, (Order order) => TypedResults.Ok(order)), http.RequestAborted);
                return outcome switch
                {
                    CancellationOutcome.Cancelled cancelled => new(TypedResults.Ok(cancelled.Order), ResponseStorage.SavedWithWrite),
                    CancellationOutcome.AlreadyCancelled already => new(TypedResults.Ok(already.Order), ResponseStorage.Save),
                    CancellationOutcome.NotFound notFound => new(OrderNotFound(notFound.OrderId), ResponseStorage.Save),
                    CancellationOutcome.NotCancellable notCancellable => new(new ConflictProblem(OrderProblems.NotCancellable,
                        $"Only an order that is PENDING_SHIPMENT can be cancelled; this one is {notCancellable.Order.Status.ToWire()}.",
                        new Dictionary<string, object?> { ["currentStatus"] = notCancellable.Order.Status.ToWire() }), ResponseStorage.Save),
                    _ => IdempotentAnswer.KeyUsed<CancelOrderResult>(),
                };
            }, refusal => refusal);
    }

    public static async Task<Results<Ok<Order>, NotFoundProblem>> GetOrderAsync(
        string id, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken) =>
        await FindOwnAsync(id, user, orders, cancellationToken) is { } order ? TypedResults.Ok(order) : OrderNotFound(id);

    public static async Task<Results<Ok<OrderHistory>, NotFoundProblem>> GetOrderHistoryAsync(
        string id, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken) =>
        await FindOwnAsync(id, user, orders, cancellationToken) is { } order
            ? TypedResults.Ok(new OrderHistory(order.OrderId, order.Status, order.History))
            : OrderNotFound(id);

    public static async Task<Results<Ok<OrderPage>, ValidationProblem>> ListOrdersAsync(
        string? status, int? limit, string? cursor, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken)
    {
        var validation = new RequestValidation();
        OrderStatus? wanted = null;
        if (status is not null)
        {
            if (OrderStatusRules.TryParse(status, out var parsed))
            {
                wanted = parsed;
            }
            else
            {
                validation.Add("status", $"One of {string.Join(", ", Enum.GetValues<OrderStatus>().Select(s => s.ToWire()))}.");
            }
        }

        var after = Cursor.CheckPage(validation, limit, cursor, MaxPageSize);

        if (!validation.IsValid)
        {
            return ValidationProblems.From(validation);
        }

        var (items, last) = await orders.ListByOwnerAsync(user.ClientId(), wanted, limit ?? DefaultPageSize, after, cancellationToken);
        return TypedResults.Ok(new OrderPage(items, last is null ? null : Cursor.Encode(last)));
    }

    private static async Task<Order?> FindOwnAsync(string id, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken) =>
        id.Length <= MaxOrderIdLength && await orders.GetAsync(id, cancellationToken) is { } order && order.Owner == user.ClientId()
            ? order
            : null;

    private static Created<Order> Created(Order order) => TypedResults.Created($"/orders/{order.OrderId}", order);

    private static NotFoundProblem OrderNotFound(string id) => new(OrderProblems.NotFound, $"You have no order {id}.");
}
