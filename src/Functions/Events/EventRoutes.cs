using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// This function's event handlers, keyed by the names the events carry: table name for a stream, queue name for
/// SQS, route key for WebSocket. Built once at start-up from the registrations and the function's environment; a
/// registration whose variable the function is not given has no entry, so its events find no handler.
/// </summary>
public sealed class EventRoutes
{
    public EventRoutes(IEnumerable<DynamoDbStreamSubscription> streams, IEnumerable<SqsSubscription> queues,
        IEnumerable<WebSocketRouteSubscription> routes, ResourceNames names)
    {
        Streams = Index(streams.Select(s => (names.Find(s.TableVariable), s.Handler)), "stream of table");
        Queues = Index(queues.Select(q => (names.Find(q.QueueUrlVariable) is { } url ? EventSourceNames.QueueNameFromUrl(url) : null, q.Handler)),
            "queue");
        WebSocketRoutes = Index(routes.Select(r => ((string?)r.RouteKey, r.Handler)), "WebSocket route");
    }

    /// <summary>Table name → handler of its stream.</summary>
    public IReadOnlyDictionary<string, Func<IServiceProvider, IDynamoDbStreamHandler>> Streams { get; }

    /// <summary>Queue name → handler of its messages.</summary>
    public IReadOnlyDictionary<string, Func<IServiceProvider, ISqsHandler>> Queues { get; }

    /// <summary>Route key → handler of the route.</summary>
    public IReadOnlyDictionary<string, Func<IServiceProvider, IWebSocketRouteHandler>> WebSocketRoutes { get; }

    private static Dictionary<string, THandler> Index<THandler>(IEnumerable<(string? Name, THandler Handler)> entries, string source)
    {
        var index = new Dictionary<string, THandler>(StringComparer.Ordinal);
        foreach (var (name, handler) in entries)
        {
            if (name is not null && !index.TryAdd(name, handler))
            {
                // Two handlers for one source would each see only half of its events; refuse to start instead.
                throw new InvalidOperationException($"Two handlers are registered for the {source} {name}.");
            }
        }

        return index;
    }
}
