using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.DeadLetters;

/// <summary>A queue that has a dead-letter queue, by the name the redrive command and endpoint use.</summary>
public sealed record RedriveRoute(string Name, string SourceQueueUrl, string DeadLetterQueueUrl);

/// <summary>What a redrive did: messages moved back to the source queue, and messages it could not move (left in the DLQ).</summary>
public sealed record RedriveResult(string Queue, string SourceQueue, string DeadLetterQueue, int Moved, int Failed);

/// <summary>
/// The queues whose DLQs can be redriven, named as in POST /admin/dlq/{queue}/redrive, with the variables
/// template.yaml sets for the queue and its DLQ.
/// </summary>
public static class DeadLetterRoutes
{
    public static readonly IReadOnlyDictionary<string, (string SourceVariable, string DeadLetterVariable)> Known =
        new Dictionary<string, (string, string)>(StringComparer.Ordinal)
        {
            ["order-events"] = ("ORDER_EVENTS_QUEUE_URL", "ORDER_EVENTS_DLQ_URL"),
            ["delivery-status"] = ("DELIVERY_STATUS_QUEUE_URL", "DELIVERY_STATUS_DLQ_URL"),
            ["carrier-events"] = ("CARRIER_EVENTS_QUEUE_URL", "CARRIER_EVENTS_DLQ_URL"),
        };

    /// <summary>The route of a known name whose two queues are configured; null otherwise.</summary>
    public static RedriveRoute? Find(string name, IConfiguration configuration) =>
        Known.TryGetValue(name, out var variables)
        && configuration[variables.SourceVariable] is { Length: > 0 } source
        && configuration[variables.DeadLetterVariable] is { Length: > 0 } deadLetters
            ? new RedriveRoute(name, source, deadLetters)
            : null;
}

/// <summary>
/// Moves the messages of a DLQ back to its source queue: receives a batch, sends it to the source with the same
/// body, message attributes and (FIFO) message group, deletes what was sent, until the DLQ is empty or the limit
/// is reached. A message is deleted from the DLQ only after the source accepted it, so a failure half-way leaves
/// it where it was (at worst sent twice, which every consumer tolerates). FIFO messages get a new deduplication
/// id: under the old one the source would drop them as repeats for five minutes.
/// </summary>
/// <param name="sqs">Reads the DLQ and sends to the source queue.</param>
/// <param name="logger">Where the redrive says what it did.</param>
/// <param name="metrics">Counts moved messages (DlqRedriven); the command-line redrive has none.</param>
public sealed class DeadLetterRedrive(IAmazonSQS sqs, ILogger<DeadLetterRedrive> logger, Metrics? metrics = null)
{
    public const int DefaultLimit = 1000;

    /// <summary>Received DLQ messages stay hidden this long; one not moved by then becomes visible again.</summary>
    private const int VisibilitySeconds = 30;

    public async Task<RedriveResult> RedriveAsync(RedriveRoute route, int limit, CancellationToken cancellationToken)
    {
        var fifo = route.SourceQueueUrl.EndsWith(".fifo", StringComparison.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var moved = 0;
        var failed = 0;
        while (moved + failed < limit)
        {
            var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = route.DeadLetterQueueUrl,
                MaxNumberOfMessages = Math.Min(10, limit - moved - failed),
                WaitTimeSeconds = 1,
                VisibilityTimeout = VisibilitySeconds,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            }, cancellationToken);
            var messages = (received.Messages ?? []).Where(m => seen.Add(m.MessageId)).ToList();
            if (messages.Count == 0)
            {
                break;
            }

            var entries = messages.Select((m, i) => new SendMessageBatchRequestEntry
            {
                Id = i.ToString(CultureInfo.InvariantCulture),
                MessageBody = m.Body,
                MessageAttributes = m.MessageAttributes is { Count: > 0 } attributes ? attributes : null,
                MessageSystemAttributes = m.Attributes?.GetValueOrDefault(Tracing.AwsTraceHeaderAttribute) is { } trace
                    ? new Dictionary<string, MessageSystemAttributeValue> { [Tracing.AwsTraceHeaderAttribute] = new() { DataType = "String", StringValue = trace } }
                    : null,
                MessageGroupId = fifo ? m.Attributes?.GetValueOrDefault("MessageGroupId") ?? m.MessageId : null,
                MessageDeduplicationId = fifo ? $"redrive-{Guid.NewGuid():N}" : null,
            }).ToList();
            var sent = await sqs.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = route.SourceQueueUrl, Entries = entries },
                cancellationToken);
            var accepted = (sent.Successful ?? []).Select(s => int.Parse(s.Id, CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var refusal in sent.Failed ?? [])
            {
                logger.NotMoved(messages[int.Parse(refusal.Id, CultureInfo.InvariantCulture)].MessageId, route.Name, refusal.Code, refusal.Message);
            }

            if (accepted.Count > 0)
            {
                await sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
                {
                    QueueUrl = route.DeadLetterQueueUrl,
                    Entries = accepted.Select(i => new DeleteMessageBatchRequestEntry(
                        i.ToString(CultureInfo.InvariantCulture), messages[i].ReceiptHandle)).ToList(),
                }, cancellationToken);
            }

            moved += accepted.Count;
            failed += messages.Count - accepted.Count;
        }

        if (moved > 0)
        {
            metrics?.Count(Metrics.DlqRedriven, moved);
        }

        logger.Redriven(route.Name, moved, failed);
        return new RedriveResult(route.Name, QueueName(route.SourceQueueUrl), QueueName(route.DeadLetterQueueUrl), moved, failed);
    }

    private static string QueueName(string url) => url[(url.TrimEnd('/').LastIndexOf('/') + 1)..];
}

internal static partial class DeadLettersLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Redrive of {Queue}: {Moved} messages moved back, {Failed} left in the DLQ")]
    public static partial void Redriven(this ILogger logger, string queue, int moved, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DLQ message {MessageId} of {Queue} not moved: {Code} {Reason}")]
    public static partial void NotMoved(this ILogger logger, string messageId, string queue, string code, string reason);
}
