using System.Diagnostics.CodeAnalysis;
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

/// <summary>A handler for the stream of the table that <see cref="TableVariable"/> names, as a capability registers it.</summary>
public sealed record DynamoDbStreamSubscription(string TableVariable, Func<IServiceProvider, IDynamoDbStreamHandler> Handler);

/// <summary>A handler for the queue whose URL <see cref="QueueUrlVariable"/> gives.</summary>
public sealed record SqsSubscription(string QueueUrlVariable, Func<IServiceProvider, ISqsHandler> Handler);

/// <summary>A handler for one WebSocket route key.</summary>
public sealed record WebSocketRouteSubscription(string RouteKey, Func<IServiceProvider, IWebSocketRouteHandler> Handler);

/// <summary>
/// Each capability registers its handlers here, in its own Add&lt;Capability&gt;(); the /events dispatch never
/// changes when one is added. A source is named by the environment variable that template.yaml gives the
/// functions it triggers (<see cref="ResourceNames"/>), so a function without the variable has no handler for it.
/// </summary>
public static class EventHandlerRegistrations
{
    /// <summary>Handles the stream of the table that <paramref name="tableVariable"/> names.</summary>
    public static IServiceCollection AddDynamoDbStreamHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, string tableVariable)
        where THandler : class, IDynamoDbStreamHandler =>
        services.AddScoped<THandler>()
            .AddSingleton(new DynamoDbStreamSubscription(tableVariable, sp => sp.GetRequiredService<THandler>()));

    /// <summary>Handles the queue whose URL <paramref name="queueUrlVariable"/> gives.</summary>
    public static IServiceCollection AddSqsHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, string queueUrlVariable)
        where THandler : class, ISqsHandler =>
        services.AddScoped<THandler>()
            .AddSingleton(new SqsSubscription(queueUrlVariable, sp => sp.GetRequiredService<THandler>()));

    /// <summary>Handles one WebSocket route key.</summary>
    public static IServiceCollection AddWebSocketRouteHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IServiceCollection services, string routeKey)
        where THandler : class, IWebSocketRouteHandler =>
        services.AddScoped<THandler>()
            .AddSingleton(new WebSocketRouteSubscription(routeKey, sp => sp.GetRequiredService<THandler>()));
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
