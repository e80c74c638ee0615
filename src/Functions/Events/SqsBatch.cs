using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// A message that can never succeed as it is: not parseable, or about something that does not exist. It is
/// reported failed like any other, so the queue's redrive policy moves it to the DLQ after maxReceiveCount
/// receives; it is never dropped as a success.
/// </summary>
public sealed class PoisonMessageException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>
/// Runs an SQS handler message by message with Lambda's partial batch response: each message that throws is
/// reported in <c>batchItemFailures</c>, the others succeed. On a FIFO queue, once a message of a message group
/// fails, the later messages of that group in the batch are reported failed without being run, because Lambda
/// must not let them overtake it. A message that failed because a dependency is unavailable is backed off
/// (<see cref="QueueRetry"/>), so that an outage does not spend the receives meant to find poison messages. Each
/// message runs in a log scope with its correlation id, and in an activity that continues its sender's trace.
/// </summary>
public static class SqsBatch
{
    /// <summary>The message attribute that carries the correlation id through every queue.</summary>
    public const string CorrelationAttribute = Correlation.ItemKey;

    public static async Task<BatchResponse> ProcessAsync(SqsEvent sqsEvent, QueueRetry retry, ILogger logger,
        Func<SqsMessage, string, CancellationToken, Task> handle, CancellationToken cancellationToken)
    {
        var failed = new List<string>();
        var failedGroups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in sqsEvent.Records)
        {
            var queue = EventSourceNames.QueueNameFromArn(message.EventSourceArn) ?? "sqs";
            using var activity = Tracing.StartConsumer($"process {queue}", TraceContextOf(message),
                TraceTags.Consumer("aws_sqs", queue, message.MessageId));
            var correlationId = CorrelationIdOf(message);
            using var scope = logger.BeginScope(new Dictionary<string, object>
            {
                [Correlation.ItemKey] = correlationId,
                ["message_id"] = message.MessageId,
            });
            var group = message.Attributes?.GetValueOrDefault("MessageGroupId");
            if (group is not null && failedGroups.Contains(group))
            {
                logger.HeldBehindFailure(message.MessageId, group);
                failed.Add(message.MessageId);
                continue;
            }

            var receiveCount = ReceiveCount(message);
            try
            {
                await handle(message, correlationId, cancellationToken);
                continue;
            }
            catch (PoisonMessageException e)
            {
                logger.PoisonMessage(e, message.MessageId, correlationId, receiveCount, e.Message);
            }
            catch (Exception e) when (Problems.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
            {
                var delay = await retry.BackOffAsync(message, receiveCount, cancellationToken);
                logger.DependencyUnavailable(e, message.MessageId, correlationId, receiveCount, delay?.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.MessageFailed(e, message.MessageId, correlationId, receiveCount);
            }

            activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            failed.Add(message.MessageId);
            if (group is not null)
            {
                failedGroups.Add(group);
            }
        }

        return BatchResponse.Failed(failed);
    }

    /// <summary>The correlation id the sender put on the message, or a new one when it carries none usable.</summary>
    public static string CorrelationIdOf(SqsMessage message) =>
        message.MessageAttributes?.GetValueOrDefault(CorrelationAttribute)?.StringValue is { } id && Correlation.IsAcceptable(id)
            ? id
            : Correlation.NewId();

    /// <summary>The sender's trace: the AWSTraceHeader system attribute, else the traceparent message attribute.</summary>
    public static System.Diagnostics.ActivityContext? TraceContextOf(SqsMessage message) =>
        Tracing.ContextOf(message.Attributes, message.MessageAttributes?.GetValueOrDefault(Tracing.TraceParentAttribute)?.StringValue);

    private static int ReceiveCount(SqsMessage message) =>
        int.TryParse(message.Attributes?.GetValueOrDefault("ApproximateReceiveCount"), System.Globalization.CultureInfo.InvariantCulture,
            out var count) ? count : 0;
}

internal static partial class SqsBatchLog
{
    [LoggerMessage(Level = LogLevel.Error,
        Message = "Message {MessageId} (correlation id {CorrelationId}, receive {ReceiveCount}) cannot be processed: {Reason}; reported failed, it goes to the DLQ after the queue's maxReceiveCount")]
    public static partial void PoisonMessage(this ILogger logger, Exception exception, string messageId, string correlationId, int receiveCount,
        string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {MessageId} (correlation id {CorrelationId}, receive {ReceiveCount}) failed; reported failed, it will be retried")]
    public static partial void MessageFailed(this ILogger logger, Exception exception, string messageId, string correlationId, int receiveCount);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {MessageId} (correlation id {CorrelationId}, receive {ReceiveCount}) failed on an unavailable dependency; reported failed, it comes back in {BackOffSeconds} s (none: after the queue's visibility timeout)")]
    public static partial void DependencyUnavailable(this ILogger logger, Exception exception, string messageId, string correlationId, int receiveCount,
        double? backOffSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} held back: an earlier message of group {MessageGroupId} failed in this batch")]
    public static partial void HeldBehindFailure(this ILogger logger, string messageId, string messageGroupId);
}
