using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>Handles the records of one DynamoDB table's stream.</summary>
public interface IDynamoDbStreamHandler
{
    Task<BatchResponse> HandleAsync(DynamoDbStreamEvent streamEvent, CancellationToken cancellationToken);
}

/// <summary>Handles the messages of one SQS queue.</summary>
public interface ISqsHandler
{
    Task<BatchResponse> HandleAsync(SqsEvent sqsEvent, CancellationToken cancellationToken);
}

/// <summary>Handles one API Gateway WebSocket route ($connect, $disconnect, $default, ...).</summary>
public interface IWebSocketRouteHandler
{
    Task<WebSocketResponse> HandleAsync(WebSocketEvent webSocketEvent, CancellationToken cancellationToken);
}

/// <summary>What kind of source a handler is registered for.</summary>
public enum EventSourceKind
{
    DynamoDbStream,
    Sqs,
    WebSocketRoute,
}

/// <summary>
/// One handler registration: the source it answers for, named as the event carries it (table name for a
/// stream, queue name for SQS, route key for WebSocket), resolved from configuration when first needed.
/// </summary>
public sealed record EventHandlerRegistration(EventSourceKind Kind, Func<IServiceProvider, string> SourceName, Type HandlerType);

/// <summary>
/// Each capability registers its handlers here, in its own Add&lt;Capability&gt;(); the /events dispatcher
/// never changes when one is added.
/// </summary>
public static class EventHandlerRegistrations
{
    /// <summary>Handles the stream of the table whose name <paramref name="table"/> gives.</summary>
    public static IServiceCollection AddDynamoDbStreamHandler<THandler>(this IServiceCollection services, Func<ResourceNames, string> table)
        where THandler : class, IDynamoDbStreamHandler =>
        services.AddRegistration<THandler>(EventSourceKind.DynamoDbStream, sp => table(sp.GetRequiredService<ResourceNames>()));

    /// <summary>Handles the queue whose URL <paramref name="queueUrl"/> gives.</summary>
    public static IServiceCollection AddSqsHandler<THandler>(this IServiceCollection services, Func<ResourceNames, string> queueUrl)
        where THandler : class, ISqsHandler =>
        services.AddRegistration<THandler>(EventSourceKind.Sqs, sp => EventSourceNames.QueueNameFromUrl(queueUrl(sp.GetRequiredService<ResourceNames>())));

    /// <summary>Handles one WebSocket route key.</summary>
    public static IServiceCollection AddWebSocketRouteHandler<THandler>(this IServiceCollection services, string routeKey)
        where THandler : class, IWebSocketRouteHandler =>
        services.AddRegistration<THandler>(EventSourceKind.WebSocketRoute, _ => routeKey);

    private static IServiceCollection AddRegistration<THandler>(this IServiceCollection services, EventSourceKind kind,
        Func<IServiceProvider, string> sourceName)
        where THandler : class
    {
        services.AddScoped<THandler>();
        services.AddSingleton(new EventHandlerRegistration(kind, sourceName, typeof(THandler)));
        return services;
    }
}

/// <summary>How event sources are named in ARNs and URLs.</summary>
public static class EventSourceNames
{
    /// <summary>arn:aws:dynamodb:region:account:table/NAME/stream/LABEL → NAME.</summary>
    public static string? TableNameFromStreamArn(string? arn)
    {
        var marker = arn?.IndexOf(":table/", StringComparison.Ordinal) ?? -1;
        if (arn is null || marker < 0)
        {
            return null;
        }

        var rest = arn[(marker + ":table/".Length)..];
        var end = rest.IndexOf("/stream/", StringComparison.Ordinal);
        return end < 0 ? null : rest[..end];
    }

    /// <summary>arn:aws:sqs:region:account:NAME → NAME.</summary>
    public static string? QueueNameFromArn(string? arn) =>
        arn is not null && arn.StartsWith("arn:", StringComparison.Ordinal) ? arn[(arn.LastIndexOf(':') + 1)..] : null;

    /// <summary>https://sqs.region.amazonaws.com/account/NAME → NAME.</summary>
    public static string QueueNameFromUrl(string url) => url.TrimEnd('/')[(url.TrimEnd('/').LastIndexOf('/') + 1)..];
}
