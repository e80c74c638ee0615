using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Events;

/// <summary>
/// How long a message that failed on an unavailable dependency stays away: the base delay after its first receive,
/// doubling with each receive up to the cap. From QUEUE_RETRY_BASE_SECONDS and QUEUE_RETRY_MAX_SECONDS.
/// </summary>
public sealed record QueueRetryOptions
{
    /// <summary>SQS keeps a message invisible for at most 12 hours.</summary>
    public const int MaxVisibilitySeconds = 43_200;

    /// <summary>The queues' VisibilityTimeout in template.yaml: the first retry comes no sooner than without a back-off.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(180);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(900);

    public static QueueRetryOptions From(IConfiguration configuration)
    {
        var defaults = new QueueRetryOptions();
        var baseDelay = Seconds(configuration, "QUEUE_RETRY_BASE_SECONDS") ?? defaults.BaseDelay;
        var maxDelay = Seconds(configuration, "QUEUE_RETRY_MAX_SECONDS") ?? defaults.MaxDelay;
        return new QueueRetryOptions { BaseDelay = baseDelay, MaxDelay = maxDelay < baseDelay ? baseDelay : maxDelay };
    }

    private static TimeSpan? Seconds(IConfiguration configuration, string key) =>
        int.TryParse(configuration[key], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= MaxVisibilitySeconds
            ? TimeSpan.FromSeconds(seconds)
            : null;
}

/// <summary>
/// Backs off a message whose handler failed because a dependency was unavailable (<see cref="Problems.IsUnavailable"/>):
/// it changes the message's visibility so that it comes back after <see cref="DelayFor"/>, not after the queue's
/// visibility timeout. Every receive counts against the queue's maxReceiveCount, which is there to move poison
/// messages to the DLQ; an outage would otherwise spend a good message's receives in 5 × the visibility timeout. With
/// the back-off the five receives span 15 × the base delay (about 36 minutes with the template's 180 s and the 900 s
/// cap), so an outage that short loses nothing. A poison message is not backed off: it reaches its DLQ as soon as
/// before. On a FIFO queue the message's group waits behind it, which keeps the group's order.
/// </summary>
public sealed class QueueRetry(IAmazonSQS sqs, ResourceNames names, IOptions<QueueRetryOptions> options, ILogger<QueueRetry> logger)
{
    /// <summary>
    /// base × 2^(receive − 1), capped, and stretched by up to a quarter at random so that the messages of one outage
    /// do not all come back in the same second; never shorter than the doubling, so the span of the receives holds.
    /// </summary>
    public static TimeSpan DelayFor(int receiveCount, QueueRetryOptions options, double jitter)
    {
        var doublings = Math.Clamp(receiveCount - 1, 0, 30);
        var seconds = Math.Min(options.MaxDelay.TotalSeconds, options.BaseDelay.TotalSeconds * Math.Pow(2, doublings));
        seconds *= 1 + (Math.Clamp(jitter, 0, 1) * 0.25);
        return TimeSpan.FromSeconds(Math.Min(QueueRetryOptions.MaxVisibilitySeconds, Math.Ceiling(seconds)));
    }

    /// <summary>
    /// Keeps the message away for its back-off. A failure to do so is logged and not thrown: the message then comes
    /// back after the queue's visibility timeout, as it would have without the back-off.
    /// </summary>
    public async Task<TimeSpan?> BackOffAsync(SqsMessage message, int receiveCount, CancellationToken cancellationToken)
    {
        var queue = EventSourceNames.QueueNameFromArn(message.EventSourceArn);
        var url = names.ConfiguredQueues.Select(q => q.Value).FirstOrDefault(u => EventSourceNames.QueueNameFromUrl(u) == queue);
        if (url is null || string.IsNullOrEmpty(message.ReceiptHandle))
        {
            logger.NoBackOff(message.MessageId, queue ?? "?");
            return null;
        }

        var delay = DelayFor(receiveCount, options.Value, Random.Shared.NextDouble());
        try
        {
            await sqs.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest
            {
                QueueUrl = url,
                ReceiptHandle = message.ReceiptHandle,
                VisibilityTimeout = (int)delay.TotalSeconds,
            }, cancellationToken);
            return delay;
        }
        catch (Exception e) when (e is AmazonSQSException || Problems.IsUnavailable(e))
        {
            logger.BackOffFailed(e, message.MessageId, queue ?? "?");
            return null;
        }
    }
}

internal static partial class QueueRetryLog
{
    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {MessageId} of {Queue} cannot be backed off (no receipt handle, or the function is not given the queue); it comes back after the queue's visibility timeout")]
    public static partial void NoBackOff(this ILogger logger, string messageId, string queue);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Backing off message {MessageId} of {Queue} failed; it comes back after the queue's visibility timeout")]
    public static partial void BackOffFailed(this ILogger logger, Exception exception, string messageId, string queue);
}
