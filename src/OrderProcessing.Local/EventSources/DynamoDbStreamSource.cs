using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Amazon.SQS;
using Microsoft.Extensions.Logging;

namespace OrderProcessing.Local.EventSources;

/// <summary>
/// What Lambda's event source mapping for a DynamoDB stream does, on this machine: polls the stream's shards
/// through the DynamoDB Streams JSON API (SigV4-signed by AWSSDK.Core's signer), posts each batch to the app's
/// /events as the Lambda event JSON, and with ReportBatchItemFailures retries from the lowest failed sequence
/// number. A batch still failing after <see cref="StreamSourceSettings.MaximumRetryAttempts"/> goes to the
/// on-failure queue (its metadata, as Lambda sends it) and the shard moves on.
/// </summary>
public sealed class DynamoDbStreamSource : IAsyncDisposable
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ShardRefresh = TimeSpan.FromSeconds(10);

    private readonly StreamSourceSettings _settings;
    private readonly string _streamArn;
    private readonly HttpClient _streams;
    private readonly HttpClient _function;
    private readonly IAmazonSQS? _sqs;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, ShardState> _shards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finishedShards = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;
    private long _recordsDelivered;
    private long _batchesPosted;

    private DynamoDbStreamSource(StreamSourceSettings settings, string streamArn, HttpClient streams, HttpClient function, IAmazonSQS? sqs,
        ILogger logger)
    {
        _settings = settings;
        _streamArn = streamArn;
        _streams = streams;
        _function = function;
        _sqs = sqs;
        _logger = logger;
    }

    public string Arn => _streamArn;

    /// <summary>Records the function has acknowledged (succeeded or sent to the failure destination).</summary>
    public long RecordsDelivered => Interlocked.Read(ref _recordsDelivered);

    /// <summary>Invocations made, retries included.</summary>
    public long BatchesPosted => Interlocked.Read(ref _batchesPosted);

    /// <param name="settings">The event source's settings, as template.yaml gives them.</param>
    /// <param name="streamArn">The table's LatestStreamArn.</param>
    /// <param name="streamsEndpoint">Where the Streams API answers (DynamoDB Local: its own endpoint).</param>
    /// <param name="credentials">Signing credentials.</param>
    /// <param name="region">Signing region.</param>
    /// <param name="function">Posts to the app; its BaseAddress is the app's root.</param>
    /// <param name="sqs">Sends to the on-failure queue, when the settings name one.</param>
    /// <param name="logger">Where the source says what it does.</param>
    /// <param name="cancellationToken">Stops the start-up.</param>
    public static async Task<DynamoDbStreamSource> StartAsync(StreamSourceSettings settings, string streamArn, Uri streamsEndpoint,
        AWSCredentials credentials, RegionEndpoint region, HttpClient function, IAmazonSQS? sqs, ILogger logger,
        CancellationToken cancellationToken = default)
    {
#pragma warning disable CA2000 // The HttpClient owns and disposes the handler chain.
        var streams = new HttpClient(new SigV4SigningHandler(credentials, region, "dynamodb", new SocketsHttpHandler()))
        {
            BaseAddress = streamsEndpoint,
            Timeout = TimeSpan.FromSeconds(30),
        };
#pragma warning restore CA2000
        var source = new DynamoDbStreamSource(settings, streamArn, streams, function, sqs, logger);
        try
        {
            // Shard iterators are taken now, so LATEST means "from when the source started", as with Lambda.
            await source.RefreshShardsAsync(initial: true, cancellationToken);
        }
        catch
        {
            streams.Dispose();
            throw;
        }

        source._loop = Task.Run(() => source.RunAsync(source._stopping.Token), CancellationToken.None);
        return source;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var lastRefresh = DateTime.UtcNow;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - lastRefresh > ShardRefresh)
                {
                    await RefreshShardsAsync(initial: false, stopping);
                    lastRefresh = DateTime.UtcNow;
                }

                var worked = false;
                foreach (var shard in _shards.Values.Where(s => s.ParentShardId is null || _finishedShards.Contains(s.ParentShardId) || !_shards.ContainsKey(s.ParentShardId)).ToList())
                {
                    worked |= await PollShardAsync(shard, stopping);
                }

                if (!worked)
                {
                    await Task.Delay(IdlePoll, stopping);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException or TaskCanceledException)
            {
                _logger.LogWarning(e, "Polling stream {StreamArn} failed; trying again", _streamArn);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One step of one shard: fill the batch, invoke, act on the answer. True when it did something.</summary>
    private async Task<bool> PollShardAsync(ShardState shard, CancellationToken stopping)
    {
        if (shard.Pending.Count < shard.BatchSize && shard.Iterator is not null && DateTime.UtcNow >= shard.NextReadAt)
        {
            JsonNode response;
            try
            {
                response = await CallAsync("GetRecords", new JsonObject
                {
                    ["ShardIterator"] = shard.Iterator,
                    ["Limit"] = Math.Max(1, Math.Min(1000, _settings.BatchSize - shard.Pending.Count)),
                }, stopping);
            }
            catch (StreamsApiException e) when (e.ErrorType.EndsWith("TrimmedDataAccessException", StringComparison.Ordinal)
                                                || e.ErrorType.EndsWith("ExpiredIteratorException", StringComparison.Ordinal))
            {
                // An iterator taken on a shard that was still empty (DynamoDB Local), or one left unused for 15 minutes:
                // take a new one after the last record read.
                shard.Iterator = await IteratorAsync(shard.ShardId, shard.LastSequenceNumber is null ? "TRIM_HORIZON" : "AFTER_SEQUENCE_NUMBER",
                    shard.LastSequenceNumber, stopping);
                return true;
            }

            foreach (var record in response["Records"]?.AsArray() ?? [])
            {
                var copy = record!.DeepClone().AsObject();
                copy["eventSourceARN"] = _streamArn;
                shard.Pending.Add(copy);
                shard.LastSequenceNumber = copy["dynamodb"]?["SequenceNumber"]?.GetValue<string>() ?? shard.LastSequenceNumber;
            }

            shard.Iterator = response["NextShardIterator"]?.GetValue<string>();
            if (response["Records"]?.AsArray().Count is null or 0)
            {
                shard.NextReadAt = DateTime.UtcNow + IdlePoll;
            }
        }

        if (shard.Pending.Count == 0)
        {
            if (shard.Iterator is null)
            {
                _finishedShards.Add(shard.ShardId);
                _shards.Remove(shard.ShardId);
            }

            return false;
        }

        if (DateTime.UtcNow < shard.RetryAt)
        {
            return false;
        }

        var batch = shard.Pending.Take(shard.BatchSize).ToList();
        var failedAt = await InvokeAsync(batch, stopping);
        if (failedAt is null)
        {
            Acknowledge(shard, batch.Count);
            return true;
        }

        shard.Attempts++;
        if (failedAt.Value > 0)
        {
            // The records before the first failure succeeded: Lambda checkpoints past them.
            Acknowledge(shard, failedAt.Value, keepAttempts: true);
        }
        else if (_settings.BisectBatchOnFunctionError && shard.BatchSize > 1)
        {
            shard.BatchSize = Math.Max(1, batch.Count / 2);
        }

        if (_settings.MaximumRetryAttempts >= 0 && shard.Attempts > _settings.MaximumRetryAttempts)
        {
            var dropped = shard.Pending.Take(shard.BatchSize).ToList();
            await SendToFailureDestinationAsync(shard, dropped, stopping);
            Acknowledge(shard, dropped.Count);
            return true;
        }

        shard.RetryAt = DateTime.UtcNow + TimeSpan.FromMilliseconds(Math.Min(2000, 100 * (1 << Math.Min(shard.Attempts, 5))));
        return true;
    }

    private void Acknowledge(ShardState shard, int count, bool keepAttempts = false)
    {
        shard.Pending.RemoveRange(0, count);
        Interlocked.Add(ref _recordsDelivered, count);
        if (!keepAttempts)
        {
            shard.Attempts = 0;
            shard.BatchSize = _settings.BatchSize;
        }
    }

    /// <summary>Posts the batch; null when every record succeeded, else the index of the first record to retry.</summary>
    private async Task<int?> InvokeAsync(List<JsonObject> batch, CancellationToken stopping)
    {
        var body = new JsonObject { ["Records"] = new JsonArray([.. batch.Select(r => (JsonNode)r.DeepClone())]) };
        Interlocked.Increment(ref _batchesPosted);
        try
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _function.PostAsync(new Uri("events", UriKind.Relative), content, stopping);
            var text = await response.Content.ReadAsStringAsync(stopping);
            if (!response.IsSuccessStatusCode)
            {
                _logger.LogWarning("The function answered {Status} to a batch of {Count} stream records; retrying the batch",
                    (int)response.StatusCode, batch.Count);
                return 0;
            }

            var failures = JsonNode.Parse(text)?["batchItemFailures"]?.AsArray();
            if (failures is null || failures.Count == 0)
            {
                return null;
            }

            var failed = failures.Select(f => f?["itemIdentifier"]?.GetValue<string>()).ToHashSet();
            var index = batch.FindIndex(r => failed.Contains(r["dynamodb"]?["SequenceNumber"]?.GetValue<string>()));
            var from = Math.Max(index, 0);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("{Failed} of {Count} stream records failed; retrying from record {Index}", failures.Count, batch.Count, from);
            }
            return from;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException
                                       || (e is TaskCanceledException && !stopping.IsCancellationRequested))
        {
            _logger.LogWarning(e, "Invoking the function with {Count} stream records failed; retrying the batch", batch.Count);
            return 0;
        }
    }

    private async Task SendToFailureDestinationAsync(ShardState shard, List<JsonObject> dropped, CancellationToken stopping)
    {
        var first = dropped[0]["dynamodb"]?["SequenceNumber"]?.GetValue<string>();
        var last = dropped[^1]["dynamodb"]?["SequenceNumber"]?.GetValue<string>();
        if (_logger.IsEnabled(LogLevel.Error))
        {
            _logger.LogError("Stream records {First}..{Last} of shard {ShardId} failed {Attempts} times; sent to the failure destination",
                first, last, shard.ShardId, shard.Attempts);
        }
        if (_sqs is null || _settings.OnFailureQueueUrl is null)
        {
            return;
        }

        var metadata = new JsonObject
        {
            ["requestContext"] = new JsonObject { ["condition"] = "RetryAttemptsExhausted", ["approximateInvokeCount"] = shard.Attempts },
            ["DDBStreamBatchInfo"] = new JsonObject
            {
                ["shardId"] = shard.ShardId,
                ["startSequenceNumber"] = first,
                ["endSequenceNumber"] = last,
                ["batchSize"] = dropped.Count,
                ["streamArn"] = _streamArn,
            },
            ["timestamp"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        await _sqs.SendMessageAsync(_settings.OnFailureQueueUrl, metadata.ToJsonString(), stopping);
    }

    private async Task RefreshShardsAsync(bool initial, CancellationToken cancellationToken)
    {
        string? exclusiveStart = null;
        do
        {
            var request = new JsonObject { ["StreamArn"] = _streamArn };
            if (exclusiveStart is not null)
            {
                request["ExclusiveStartShardId"] = exclusiveStart;
            }

            var description = (await CallAsync("DescribeStream", request, cancellationToken))["StreamDescription"];
            foreach (var shard in description?["Shards"]?.AsArray() ?? [])
            {
                var id = shard!["ShardId"]!.GetValue<string>();
                if (_shards.ContainsKey(id) || _finishedShards.Contains(id))
                {
                    continue;
                }

                var closed = shard["SequenceNumberRange"]?["EndingSequenceNumber"] is not null;
                var latest = initial && string.Equals(_settings.StartingPosition, "LATEST", StringComparison.OrdinalIgnoreCase);
                if (latest && closed)
                {
                    _finishedShards.Add(id);
                    continue;
                }

                var iterator = await IteratorAsync(id, latest ? "LATEST" : "TRIM_HORIZON", null, cancellationToken);
                _shards[id] = new ShardState(id, shard["ParentShardId"]?.GetValue<string>(), _settings.BatchSize) { Iterator = iterator };
            }

            exclusiveStart = description?["LastEvaluatedShardId"]?.GetValue<string>();
        }
        while (exclusiveStart is not null);
    }

    private async Task<string?> IteratorAsync(string shardId, string type, string? sequenceNumber, CancellationToken cancellationToken)
    {
        var request = new JsonObject { ["StreamArn"] = _streamArn, ["ShardId"] = shardId, ["ShardIteratorType"] = type };
        if (sequenceNumber is not null)
        {
            request["SequenceNumber"] = sequenceNumber;
        }

        return (await CallAsync("GetShardIterator", request, cancellationToken))["ShardIterator"]?.GetValue<string>();
    }

    private async Task<JsonNode> CallAsync(string operation, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/", UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.0");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", $"DynamoDBStreams_20120810.{operation}");
        using var response = await _streams.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var type = JsonNode.Parse(text)?["__type"]?.GetValue<string>() ?? "";
            throw new StreamsApiException(type, $"DynamoDB Streams {operation} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text) ?? new JsonObject();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _streams.Dispose();
        _stopping.Dispose();
    }

    private sealed class ShardState(string shardId, string? parentShardId, int batchSize)
    {
        public string ShardId { get; } = shardId;

        public string? ParentShardId { get; } = parentShardId;

        public string? Iterator { get; set; }

        public List<JsonObject> Pending { get; } = [];

        public int BatchSize { get; set; } = batchSize;

        public int Attempts { get; set; }

        public DateTime RetryAt { get; set; }

        public DateTime NextReadAt { get; set; }

        public string? LastSequenceNumber { get; set; }
    }
}

/// <summary>An error answer of the DynamoDB Streams API, with its error type.</summary>
public sealed class StreamsApiException(string errorType, string message) : InvalidOperationException(message)
{
    public string ErrorType { get; } = errorType;
}

/// <summary>A DynamoDB event source of a function in template.yaml, as Lambda would apply it.</summary>
public sealed record StreamSourceSettings
{
    public required string FunctionLogicalId { get; init; }

    /// <summary>The table whose StreamArn the event source names.</summary>
    public required string TableLogicalId { get; init; }

    public int BatchSize { get; init; } = 100;

    public string StartingPosition { get; init; } = "LATEST";

    /// <summary>-1: retry until the record expires (Lambda's default).</summary>
    public int MaximumRetryAttempts { get; init; } = -1;

    public bool BisectBatchOnFunctionError { get; init; }

    public string? OnFailureQueueLogicalId { get; init; }

    /// <summary>Resolved when the stack is known.</summary>
    public string? OnFailureQueueUrl { get; init; }
}
