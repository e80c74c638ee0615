using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OrderProcessing.Functions.Events;

/// <summary>What a batch of records comes to: a partial batch response, or why the body is no batch this function takes.</summary>
public sealed record BatchOutcome
{
    private BatchOutcome(BatchResponse? response, string? refusal) => (Response, Refusal) = (response, refusal);

    public BatchResponse? Response { get; }

    public string? Refusal { get; }

    [MemberNotNullWhen(true, nameof(Response))]
    [MemberNotNullWhen(false, nameof(Refusal))]
    public bool IsAnswered => Response is not null;

    public static BatchOutcome Answered(BatchResponse response) => new(response, null);

    public static BatchOutcome Unknown(string refusal) => new(null, refusal);
}

/// <summary>
/// Hands a batch of SQS messages or DynamoDB stream records to the handler of its queue or stream. A batch
/// comes from one source; nothing in it is ever dropped as a success: a batch without a handler, whose handler
/// throws, or whose records are not in the shape Lambda delivers is reported failed record by record, so Lambda
/// retries it and finally sends it to the source's failure destination.
/// </summary>
public static class BatchDispatch
{
    public static async Task<BatchOutcome> DispatchAsync(JsonElement root, JsonElement records, EventRoutes routes,
        IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        if (records.GetArrayLength() == 0)
        {
            return BatchOutcome.Answered(BatchResponse.Success);
        }

        var sources = records.EnumerateArray()
            .Select(r => (Source: EventJson.Text(r, "eventSource"), Arn: EventJson.Text(r, "eventSourceARN")))
            .Distinct()
            .ToList();
        if (sources.Count != 1)
        {
            return BatchOutcome.Unknown("A batch holds records of one event source; this one mixes several.");
        }

        var (source, arn) = sources[0];
        return source switch
        {
            "aws:dynamodb" => await StreamAsync(root, records, EventSourceNames.TableNameFromStreamArn(arn), routes, services, logger,
                cancellationToken),
            "aws:sqs" => await QueueAsync(root, records, EventSourceNames.QueueNameFromArn(arn), routes, services, logger,
                cancellationToken),
            _ => BatchOutcome.Unknown($"Records of event source '{source}' are not handled here."),
        };
    }

    private static async Task<BatchOutcome> StreamAsync(JsonElement root, JsonElement records, string? table, EventRoutes routes,
        IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        if (Read(root, EventsJson.Default.DynamoDbStreamEvent) is not { } batch || batch.Records.Any(r => r is null))
        {
            return Malformed(records, "aws:dynamodb", logger);
        }

        var handler = table is not null ? routes.Streams.GetValueOrDefault(table) : null;
        return BatchOutcome.Answered(await RunAsync(
            handler is null ? null : () => handler(services).HandleAsync(batch, cancellationToken),
            batch.Records.Select(r => r.Dynamodb?.SequenceNumber ?? r.EventId ?? ""), $"stream of table {table}", logger));
    }

    private static async Task<BatchOutcome> QueueAsync(JsonElement root, JsonElement records, string? queue, EventRoutes routes,
        IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        if (Read(root, EventsJson.Default.SqsEvent) is not { } batch || batch.Records.Any(r => r is null))
        {
            return Malformed(records, "aws:sqs", logger);
        }

        var handler = queue is not null ? routes.Queues.GetValueOrDefault(queue) : null;
        return BatchOutcome.Answered(await RunAsync(
            handler is null ? null : () => handler(services).HandleAsync(batch, cancellationToken),
            batch.Records.Select(r => r.MessageId), $"queue {queue}", logger));
    }

    private static async Task<BatchResponse> RunAsync(Func<Task<BatchResponse>>? handle, IEnumerable<string> itemIdentifiers, string source,
        ILogger logger)
    {
        if (handle is null)
        {
            logger.NoHandler(source);
            return BatchResponse.Failed(itemIdentifiers);
        }

        try
        {
            return await handle();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.HandlerFailed(e, source);
            return BatchResponse.Failed(itemIdentifiers);
        }
    }

    private static T? Read<T>(JsonElement root, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return root.Deserialize(type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Not the shape Lambda sends. Nothing in it can be processed, and nothing may be dropped as a success: every
    /// record is reported failed if each names its id; a batch where one does not cannot be answered per record.
    /// </summary>
    private static BatchOutcome Malformed(JsonElement records, string source, ILogger logger)
    {
        logger.MalformedRecords(source);
        var ids = records.EnumerateArray().Select(RecordId).ToList();
        return ids.All(id => id is { Length: > 0 })
            ? BatchOutcome.Answered(BatchResponse.Failed(ids!))
            : BatchOutcome.Unknown("The records are not in the shape Lambda delivers, and not every one names its message id or sequence number.");
    }

    private static string? RecordId(JsonElement record) =>
        EventJson.Text(record, "messageId")
        ?? (record.ValueKind == JsonValueKind.Object && record.TryGetProperty("dynamodb", out var change) ? EventJson.Text(change, "SequenceNumber") : null);
}

internal static partial class EventsLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "No handler is registered for the {Source}; every record is reported as failed")]
    public static partial void NoHandler(this ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "Records of {Source} are not in the shape Lambda delivers; every record is reported as failed")]
    public static partial void MalformedRecords(this ILogger logger, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "The handler of the {Source} failed; every record is reported as failed")]
    public static partial void HandlerFailed(this ILogger logger, Exception exception, string source);
}
