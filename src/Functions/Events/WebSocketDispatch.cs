using System.Text.Json;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// Hands an API Gateway WebSocket event to the handler of its route. The answer goes back to API Gateway as the
/// route's response: 400 for an event without a usable connection id or in a shape API Gateway does not send,
/// 404 for a route this function has no handler for.
/// </summary>
public static class WebSocketDispatch
{
    private const int MaxConnectionIdLength = 128;

    public static async Task<WebSocketResponse> DispatchAsync(JsonElement root, string route, EventRoutes routes, IServiceProvider services,
        CancellationToken cancellationToken)
    {
        WebSocketEvent? webSocketEvent;
        try
        {
            webSocketEvent = root.Deserialize(EventsJson.Default.WebSocketEvent);
        }
        catch (JsonException)
        {
            return new WebSocketResponse(StatusCodes.Status400BadRequest);
        }

        // API Gateway names the connection of every event; without one there is nothing to act on.
        if (webSocketEvent?.RequestContext?.ConnectionId is not { Length: > 0 and <= MaxConnectionIdLength })
        {
            return new WebSocketResponse(StatusCodes.Status400BadRequest);
        }

        return routes.WebSocketRoutes.TryGetValue(route, out var handler)
            ? await handler(services).HandleAsync(webSocketEvent, cancellationToken)
            : new WebSocketResponse(StatusCodes.Status404NotFound);
    }
}
