using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// POST /events: every non-HTTP Lambda event, passed through by the Lambda Web Adapter as raw JSON. The body
/// says what it is: <c>Records[].eventSource</c> "aws:dynamodb" or "aws:sqs" with <c>eventSourceARN</c>, or
/// <c>requestContext.routeKey</c> of an API Gateway WebSocket event. It goes to the handler registered for that
/// source. The answer is always JSON, because the adapter hands the body to Lambda as the function result:
/// <c>{"batchItemFailures":[...]}</c> for batches, the route's <c>{"statusCode":...}</c> for WebSocket events.
/// </summary>
public static class EventsEndpoint
{
    public const string Path = "/events";
    private const int MaxConnectionIdLength = 128;

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        // Reached only through the adapter's pass-through path on Lambda; no API Gateway route leads here.
        app.MapPost(Path, DispatchAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    public static async Task<Results<Ok<BatchResponse>, Ok<WebSocketResponse>, ProblemHttpResult>> DispatchAsync(
        HttpRequest request, IServiceProvider services, IEnumerable<EventHandlerRegistration> registrations, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(EventsEndpoint));
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return UnknownEvent($"The body is not JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("Records", out var records) && records.ValueKind == JsonValueKind.Array)
            {
                if (records.GetArrayLength() == 0)
                {
                    return TypedResults.Ok(BatchResponse.Success);
                }

                var sources = records.EnumerateArray()
                    .Select(r => (Source: Text(r, "eventSource"), Arn: Text(r, "eventSourceARN")))
                    .Distinct()
                    .ToList();
                if (sources.Count != 1)
                {
                    return UnknownEvent("A batch holds records of one event source; this one mixes several.");
                }

                var (source, arn) = sources[0];
                try
                {
                    switch (source)
                    {
                        case "aws:dynamodb":
                            var streamEvent = root.Deserialize(EventsJson.Default.DynamoDbStreamEvent)!;
                            var table = EventSourceNames.TableNameFromStreamArn(arn);
                            return TypedResults.Ok(await RunBatchAsync(
                                Find(services, registrations, EventSourceKind.DynamoDbStream, table, logger),
                                handler => ((IDynamoDbStreamHandler)handler).HandleAsync(streamEvent, cancellationToken),
                                streamEvent.Records.Select(r => r.Dynamodb?.SequenceNumber ?? r.EventId ?? ""),
                                $"stream of table {table}", logger));
                        case "aws:sqs":
                            var sqsEvent = root.Deserialize(EventsJson.Default.SqsEvent)!;
                            var queue = EventSourceNames.QueueNameFromArn(arn);
                            return TypedResults.Ok(await RunBatchAsync(
                                Find(services, registrations, EventSourceKind.Sqs, queue, logger),
                                handler => ((ISqsHandler)handler).HandleAsync(sqsEvent, cancellationToken),
                                sqsEvent.Records.Select(r => r.MessageId),
                                $"queue {queue}", logger));
                        default:
                            return UnknownEvent($"Records of event source '{source}' are not handled here.");
                    }
                }
                catch (JsonException)
                {
                    // Not the shape Lambda sends. Nothing in it can be processed, and nothing may be dropped as a
                    // success: every record that names its id is reported failed.
                    logger.MalformedRecords(source ?? "");
                    var ids = records.EnumerateArray().Select(RecordId).ToList();
                    return ids.All(id => id is { Length: > 0 })
                        ? TypedResults.Ok(BatchResponse.Failed(ids!))
                        : UnknownEvent("The records are not in the shape Lambda delivers, and not every one names its message id or sequence number.");
                }
            }

            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("requestContext", out var context) && context.ValueKind == JsonValueKind.Object
                && Text(context, "routeKey") is { } route)
            {
                WebSocketEvent webSocketEvent;
                try
                {
                    webSocketEvent = root.Deserialize(EventsJson.Default.WebSocketEvent)!;
                }
                catch (JsonException)
                {
                    return TypedResults.Ok(new WebSocketResponse(StatusCodes.Status400BadRequest));
                }

                // API Gateway names the connection of every event; without one there is nothing to act on.
                if (webSocketEvent.RequestContext.ConnectionId is not { Length: > 0 and <= MaxConnectionIdLength })
                {
                    return TypedResults.Ok(new WebSocketResponse(StatusCodes.Status400BadRequest));
                }

                if (Find(services, registrations, EventSourceKind.WebSocketRoute, route, logger) is not { } handler)
                {
                    return TypedResults.Ok(new WebSocketResponse(StatusCodes.Status404NotFound));
                }

                return TypedResults.Ok(await ((IWebSocketRouteHandler)handler).HandleAsync(webSocketEvent, cancellationToken));
            }

            return UnknownEvent("Expected Records of an SQS queue or DynamoDB stream, or an API Gateway WebSocket event.");
        }
    }

    /// <summary>
    /// A handler that throws, or no handler at all, fails every record: Lambda then retries the batch and
    /// finally sends it to the source's failure destination, instead of dropping it as a success.
    /// </summary>
    private static async Task<BatchResponse> RunBatchAsync(object? handler, Func<object, Task<BatchResponse>> run,
        IEnumerable<string> itemIdentifiers, string source, ILogger logger)
    {
        if (handler is null)
        {
            logger.NoHandler(source);
            return BatchResponse.Failed(itemIdentifiers);
        }

        try
        {
            return await run(handler);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.HandlerFailed(e, source);
            return BatchResponse.Failed(itemIdentifiers);
        }
    }

    private static object? Find(IServiceProvider services, IEnumerable<EventHandlerRegistration> registrations, EventSourceKind kind,
        string? name, ILogger logger)
    {
        if (name is null)
        {
            return null;
        }

        foreach (var registration in registrations.Where(r => r.Kind == kind))
        {
            string registered;
            try
            {
                registered = registration.SourceName(services);
            }
            catch (InvalidOperationException e)
            {
                // This function is not configured with that source (its variable is not set): not a match.
                logger.NoSourceConfigured(e, registration.HandlerType.Name);
                continue;
            }

            if (string.Equals(registered, name, StringComparison.Ordinal))
            {
                return services.GetRequiredService(registration.HandlerType);
            }
        }

        return null;
    }

    private static string? RecordId(JsonElement record) =>
        Text(record, "messageId")
        ?? (record.ValueKind == JsonValueKind.Object && record.TryGetProperty("dynamodb", out var change) ? Text(change, "SequenceNumber") : null);

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ProblemHttpResult UnknownEvent(string detail) =>
        Problems.Problem(StatusCodes.Status400BadRequest, "unknown-event", "The event is not one this function handles.", detail);
}

internal static partial class EventsLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Handler {Handler} has no source configured")]
    public static partial void NoSourceConfigured(this ILogger logger, Exception exception, string handler);

    [LoggerMessage(Level = LogLevel.Error, Message = "No handler is registered for the {Source}; every record is reported as failed")]
    public static partial void NoHandler(this ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Records of {Source} are not in the shape Lambda delivers; every record is reported as failed")]
    public static partial void MalformedRecords(this ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "The handler of the {Source} failed; every record is reported as failed")]
    public static partial void HandlerFailed(this ILogger logger, Exception exception, string source);
}
