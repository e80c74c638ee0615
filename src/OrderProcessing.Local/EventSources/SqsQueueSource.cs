using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Local.EventSources;

/// <summary>An SQS event source of a function in template.yaml, as Lambda would apply it.</summary>
public sealed record SqsSourceSettings
{
    public required string FunctionLogicalId { get; init; }

    public required string QueueLogicalId { get; init; }

    /// <summary>At most 10 for FIFO queues; up to 10,000 for standard queues with a batching window.</summary>
    public int BatchSize { get; init; } = 10;

    /// <summary>How long to gather a batch after its first message (standard queues only).</summary>
    public int MaximumBatchingWindowInSeconds { get; init; }

    /// <summary>FunctionResponseTypes holds ReportBatchItemFailures: the answer names the messages to keep.</summary>
    public bool ReportBatchItemFailures { get; init; }

    /// <summary>ScalingConfig.MaximumConcurrency: at most this many batches in flight at once.</summary>
    public int? MaximumConcurrency { get; init; }
}

/// <summary>How the local host plays the SQS event source mappings.</summary>
public sealed record SqsSourceOptions
{
    /// <summary>
    /// The visibility timeout used when receiving, instead of the queue's own (ReceiveMessage's VisibilityTimeout).
    /// Tests shorten it so that a failed message reappears, and a poison message reaches its DLQ, in seconds.
    /// </summary>
    public TimeSpan? VisibilityTimeout { get; init; }

    /// <summary>
    /// The functions' settings that go with <see cref="VisibilityTimeout"/>: a message backed off after a dependency
    /// failed starts from it as well (QUEUE_RETRY_BASE_SECONDS), as on AWS it starts from the queue's own.
    /// </summary>
    public IReadOnlyDictionary<string, string?> FunctionSettings => VisibilityTimeout is { } visibility
        ? new Dictionary<string, string?>
        {
            ["QUEUE_RETRY_BASE_SECONDS"] = ((int)Math.Ceiling(visibility.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture),
        }
        : new Dictionary<string, string?>();

    /// <summary>Concurrent pollers per queue on this machine, below the template's MaximumConcurrency.</summary>
    public int MaxPollersPerQueue { get; init; } = 2;

    /// <summary>How long one receive waits for a message (long polling, at most 20 s).</summary>
    public int WaitTimeSeconds { get; init; } = 20;
}

/// <summary>
/// What Lambda's event source mapping for an SQS queue does, on this machine: long-polls the queue, posts each
/// batch to the app's /events as the SQS event JSON Lambda sends (attributes and messageAttributes included),
/// deletes the messages that succeeded and leaves the failed ones, which reappear after the visibility timeout.
/// Each receive counts, so the queue's redrive policy moves a message that keeps failing to its DLQ after
/// maxReceiveCount receives, as on AWS. Without ReportBatchItemFailures a 2xx answer deletes the whole batch;
/// an answer that is not 2xx, not JSON, or names a message that is not in the batch fails the whole batch.
/// </summary>
public sealed class SqsQueueSource : IAsyncDisposable
{
    private readonly SqsSourceSettings _settings;
    private readonly ProvisionedQueue _queue;
    private readonly IAmazonSQS _sqs;
    private readonly HttpClient _function;
    private readonly SqsSourceOptions _options;
    private readonly string _region;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pollers = [];
    private long _deleted;
    private long _failed;
    private long _invocations;

    public SqsQueueSource(SqsSourceSettings settings, ProvisionedQueue queue, IAmazonSQS sqs, HttpClient function, SqsSourceOptions options,
        string region, ILogger logger)
    {
        _settings = settings;
        _queue = queue;
        _sqs = sqs;
        _function = function;
        _options = options;
        _region = region;
        _logger = logger;
    }

    public SqsSourceSettings Settings => _settings;

    public ProvisionedQueue Queue => _queue;

    public int Pollers => _pollers.Count;

    /// <summary>Messages the function handled and the source deleted.</summary>
    public long MessagesDeleted => Interlocked.Read(ref _deleted);

    /// <summary>Receives that the function reported failed (each retry counts again).</summary>
    public long MessagesFailed => Interlocked.Read(ref _failed);

    /// <summary>Batches posted to the function.</summary>
    public long Invocations => Interlocked.Read(ref _invocations);

    public void Start()
    {
        var pollers = Math.Clamp(_settings.MaximumConcurrency ?? 5, 1, Math.Max(1, _options.MaxPollersPerQueue));
        for (var i = 0; i < pollers; i++)
        {
            _pollers.Add(Task.Run(() => PollAsync(_stopping.Token), CancellationToken.None));
        }
    }

    private async Task PollAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var batch = await GatherAsync(stopping);
                if (batch.Count == 0)
                {
                    continue;
                }

                var keep = await InvokeAsync(batch, stopping);
                Interlocked.Add(ref _failed, keep.Count);
                await DeleteAsync(batch.Where(m => !keep.Contains(m.MessageId)).ToList(), stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or TimeoutException
                                           or OperationCanceledException)
            {
                _logger.PollFailed(e, _queue.Name);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One batch: waits for a first message, then gathers more for the batching window, up to the batch size.</summary>
    private async Task<List<Message>> GatherAsync(CancellationToken stopping)
    {
        var batch = new List<Message>();
        var window = TimeSpan.FromSeconds(_settings.MaximumBatchingWindowInSeconds);
        DateTime? deadline = null;
        while (batch.Count < _settings.BatchSize)
        {
            var wait = deadline is null
                ? _options.WaitTimeSeconds
                : (int)Math.Ceiling(Math.Max(0, (deadline.Value - DateTime.UtcNow).TotalSeconds));
            var request = new ReceiveMessageRequest
            {
                QueueUrl = _queue.Url,
                MaxNumberOfMessages = Math.Min(10, _settings.BatchSize - batch.Count),
                WaitTimeSeconds = Math.Min(20, wait),
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            };
            if (_options.VisibilityTimeout is { } visibility)
            {
                request.VisibilityTimeout = (int)Math.Ceiling(visibility.TotalSeconds);
            }

            var received = (await _sqs.ReceiveMessageAsync(request, stopping)).Messages ?? [];
            // A message whose visibility ran out during the window comes again: one copy, with the newest receipt handle.
            batch.RemoveAll(m => received.Any(r => r.MessageId == m.MessageId));
            batch.AddRange(received);
            if (batch.Count == 0)
            {
                return batch;
            }

            deadline ??= DateTime.UtcNow + window;
            if (window == TimeSpan.Zero || DateTime.UtcNow >= deadline)
            {
                break;
            }
        }

        return batch;
    }

    /// <summary>Posts the batch; returns the ids of the messages to leave in the queue (every one when the invocation failed).</summary>
    private async Task<HashSet<string>> InvokeAsync(List<Message> batch, CancellationToken stopping)
    {
        var all = batch.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
        Interlocked.Increment(ref _invocations);
        string text;
        try
        {
            using var content = new StringContent(ToLambdaEvent(batch).ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _function.PostAsync(new Uri("events", UriKind.Relative), content, stopping);
            text = await response.Content.ReadAsStringAsync(stopping);
            if (!response.IsSuccessStatusCode)
            {
                _logger.InvocationRefused((int)response.StatusCode, batch.Count, _queue.Name);
                return all;
            }
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !stopping.IsCancellationRequested))
        {
            _logger.InvocationFailed(e, batch.Count, _queue.Name);
            return all;
        }

        if (!_settings.ReportBatchItemFailures)
        {
            return [];
        }

        try
        {
            var failures = JsonNode.Parse(text)?["batchItemFailures"]?.AsArray() ?? [];
            var keep = failures.Select(f => f?["itemIdentifier"]?.GetValue<string>()).ToList();
            if (keep.Any(id => id is null || !all.Contains(id)))
            {
                _logger.UnknownItemIdentifier(_queue.Name);
                return all;
            }

            return keep.OfType<string>().ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            _logger.NotABatchResponse(e, _queue.Name);
            return all;
        }
    }

    private async Task DeleteAsync(List<Message> done, CancellationToken stopping)
    {
        foreach (var chunk in done.Chunk(10))
        {
            var response = await _sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
            {
                QueueUrl = _queue.Url,
                Entries = chunk.Select((m, i) => new DeleteMessageBatchRequestEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m.ReceiptHandle))
                    .ToList(),
            }, stopping);
            Interlocked.Add(ref _deleted, response.Successful?.Count ?? 0);
            foreach (var failure in response.Failed ?? [])
            {
                // A receipt that expired meanwhile: the message was received again and is someone else's now.
                _logger.DeleteFailed(_queue.Name, failure.Code, failure.Message);
            }
        }
    }

    /// <summary>The batch in the JSON shape Lambda gives an SQS-triggered function (Amazon.Lambda.SQSEvents).</summary>
    public JsonObject ToLambdaEvent(IEnumerable<Message> messages) => new()
    {
        ["Records"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
        {
            ["messageId"] = m.MessageId,
            ["receiptHandle"] = m.ReceiptHandle,
            ["body"] = m.Body,
            ["attributes"] = new JsonObject([.. (m.Attributes ?? []).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]),
            ["messageAttributes"] = new JsonObject([.. (m.MessageAttributes ?? []).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)new JsonObject
            {
                ["stringValue"] = a.Value.StringValue,
                ["binaryValue"] = a.Value.BinaryValue is { } binary ? Convert.ToBase64String(binary.ToArray()) : null,
                ["stringListValues"] = new JsonArray([.. (a.Value.StringListValues ?? []).Select(v => (JsonNode?)v)]),
                ["binaryListValues"] = new JsonArray([.. (a.Value.BinaryListValues ?? []).Select(v => (JsonNode?)Convert.ToBase64String(v.ToArray()))]),
                ["dataType"] = a.Value.DataType,
            }))]),
            ["md5OfBody"] = m.MD5OfBody,
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = _queue.Arn,
            ["awsRegion"] = _region,
        })]),
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_pollers);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }
}

internal static partial class SqsSourceLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling queue {Queue} failed; trying again")]
    public static partial void PollFailed(this ILogger logger, Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The function answered {Status} to a batch of {Count} messages of {Queue}; they will be received again")]
    public static partial void InvocationRefused(this ILogger logger, int status, int count, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invoking the function with {Count} messages of {Queue} failed; they will be received again")]
    public static partial void InvocationFailed(this ILogger logger, Exception exception, int count, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The function named a message that is not in the batch of {Queue}; the whole batch fails, as on Lambda")]
    public static partial void UnknownItemIdentifier(this ILogger logger, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The function's answer for {Queue} is not a batch response; the whole batch fails")]
    public static partial void NotABatchResponse(this ILogger logger, Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleting a message of {Queue} failed: {Code} {Reason}")]
    public static partial void DeleteFailed(this ILogger logger, string queue, string code, string reason);
}
