using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Events;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Functions.Notifications;

/// <summary>
/// $connect: the caller's access token (query string <c>token</c>, or the Sec-WebSocket-Protocol header as
/// <c>bearer, &lt;token&gt;</c> for browsers that cannot set headers) passes the same checks as on the HTTP API
/// (signature, issuer, audience, lifetime, deny-list) and carries notifications:read; then the connection is
/// stored. Anything else refuses the connection and stores nothing.
/// </summary>
public sealed class ConnectRoute(AccessTokenValidator tokens, ConnectionStore connections, ILogger<ConnectRoute> logger) : IWebSocketRouteHandler
{
    public const string BearerProtocol = "bearer";

    public async Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken)
    {
        var connectionId = webSocketEvent.RequestContext.ConnectionId;
        var (token, viaProtocol) = TokenOf(webSocketEvent);
        if (connectionId is null || token is null)
        {
            return new WebSocketResponse(401);
        }

        var validation = await tokens.ValidateAsync(token, cancellationToken);
        if (!validation.Succeeded)
        {
            logger.ConnectRefused(connectionId, validation.Error ?? "invalid token");
            return new WebSocketResponse(401);
        }

        var user = validation.Principal!;
        if (!user.HasScope(Scopes.NotificationsRead))
        {
            logger.ConnectRefused(connectionId, $"missing scope {Scopes.NotificationsRead}");
            return new WebSocketResponse(403);
        }

        await connections.AddAsync(connectionId, user.ClientId(), cancellationToken);
        return viaProtocol
            ? new WebSocketResponse(200) { Headers = new Dictionary<string, string> { ["Sec-WebSocket-Protocol"] = BearerProtocol } }
            : new WebSocketResponse(200);
    }

    private static (string? Token, bool ViaProtocol) TokenOf(WebSocketEvent e)
    {
        if (e.QueryStringParameters?.GetValueOrDefault("token") is { Length: > 0 } fromQuery)
        {
            return (fromQuery, false);
        }

        var header = e.Headers?.FirstOrDefault(h => h.Key.Equals("Sec-WebSocket-Protocol", StringComparison.OrdinalIgnoreCase)).Value;
        var offered = header?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        return offered.Length == 2 && offered[0] == BearerProtocol ? (offered[1], true) : (null, false);
    }
}

/// <summary>$disconnect: forgets the connection (a repeated disconnect is fine).</summary>
public sealed class DisconnectRoute(ConnectionStore connections) : IWebSocketRouteHandler
{
    public async Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken)
    {
        if (webSocketEvent.RequestContext.ConnectionId is { } connectionId)
        {
            await connections.RemoveAsync(connectionId, cancellationToken);
        }

        return new WebSocketResponse(200);
    }
}

/// <summary>
/// subscribe / unsubscribe {"orderId"}: narrows (or widens again) what the connection receives to the caller's
/// own orders. Another client's order, or none, is answered with an error frame; the connection stays open.
/// </summary>
public sealed class SubscriptionRoute(ConnectionStore connections, OrderStore orders, bool subscribe) : IWebSocketRouteHandler
{
    public async Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken)
    {
        var orderId = Frames.OrderIdOf(webSocketEvent.Body);
        if (orderId is not { Length: > 0 and <= 64 })
        {
            return Frames.Error("invalid_message", "Send {\"action\":\"subscribe\",\"orderId\":\"...\"}.");
        }

        var connection = webSocketEvent.RequestContext.ConnectionId is { } id ? await connections.GetAsync(id, cancellationToken) : null;
        if (connection is null)
        {
            return Frames.Error("unknown_connection", "This connection is not registered; reconnect.");
        }

        // Another client's order looks exactly like one that does not exist (as on the HTTP API).
        var order = await orders.GetAsync(orderId, cancellationToken);
        if (order is null || order.Owner != connection.Owner)
        {
            return Frames.Error("order_not_found", $"No order {orderId} of yours.");
        }

        await connections.SubscribeAsync(connection.ConnectionId, orderId, subscribe, cancellationToken);
        return Frames.Reply(new SubscriptionFrame(subscribe ? "subscribed" : "unsubscribed", orderId));
    }
}

/// <summary>subscribe, registered as its own handler type for the dispatcher.</summary>
public sealed class SubscribeRoute(ConnectionStore connections, OrderStore orders) : IWebSocketRouteHandler
{
    private readonly SubscriptionRoute _route = new(connections, orders, subscribe: true);

    public Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken) =>
        _route.HandleAsync(webSocketEvent, cancellationToken);
}

/// <summary>unsubscribe, registered as its own handler type for the dispatcher.</summary>
public sealed class UnsubscribeRoute(ConnectionStore connections, OrderStore orders) : IWebSocketRouteHandler
{
    private readonly SubscriptionRoute _route = new(connections, orders, subscribe: false);

    public Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken) =>
        _route.HandleAsync(webSocketEvent, cancellationToken);
}

/// <summary>ping → pong, so a client can tell a live connection from a dead one.</summary>
public sealed class PingRoute : IWebSocketRouteHandler
{
    public Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken) =>
        Task.FromResult(Frames.Reply(new PongFrame("pong")));
}

/// <summary>$default: anything that is not a known action gets an error frame, never a disconnect.</summary>
public sealed class DefaultRoute : IWebSocketRouteHandler
{
    public Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken) =>
        Task.FromResult(Frames.ActionOf(webSocketEvent.Body) is { } action
            ? Frames.Error("unknown_action", $"Unknown action '{action}'; use subscribe, unsubscribe or ping.")
            : Frames.Error("invalid_message", "Messages are JSON objects with an \"action\": subscribe, unsubscribe or ping."));
}

/// <summary>{"type":"error","code","message"} — what a client gets back for a message it should not have sent.</summary>
public sealed record ErrorFrame(string Type, string Code, string Message);

public sealed record SubscriptionFrame(string Type, string OrderId);

public sealed record PongFrame(string Type);

internal static class Frames
{
    public static WebSocketResponse Error(string code, string message) =>
        Reply(new ErrorFrame("error", code, message));

    public static WebSocketResponse Reply<T>(T frame) =>
        new(200, JsonSerializer.Serialize(frame, typeof(T), WebSocketFramesJson.Default));

    public static string? OrderIdOf(string? body) => Property(body, "orderId");

    public static string? ActionOf(string? body) => Property(body, "action");

    private static string? Property(string? body, string name)
    {
        if (string.IsNullOrEmpty(body))
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                   && json.RootElement.TryGetProperty(name, out var value)
                   && value.ValueKind == JsonValueKind.String
                   && value.GetString() is { Length: > 0 and <= 128 } text
                ? text
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ErrorFrame))]
[JsonSerializable(typeof(SubscriptionFrame))]
[JsonSerializable(typeof(PongFrame))]
internal sealed partial class WebSocketFramesJson : JsonSerializerContext;
