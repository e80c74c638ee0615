using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using OrderProcessing.Local;

namespace OrderProcessing.Bench;

/// <summary>
/// What a stretch of the run cost: the calls counted, the DynamoDB units consumed (write units as DynamoDB Local
/// reported them and as AWS bills them), the WebSocket frames received.
/// </summary>
internal sealed record Window(IReadOnlyDictionary<string, AwsCallMeter.Count> Calls, double ReadUnits, double WriteUnits, int Frames,
    IReadOnlyDictionary<string, TableUnits> UnitsByTable)
{
    public double BilledWriteUnits => UnitsByTable.Values.Sum(u => u.BilledWrite);
}

/// <summary>The lifecycle run's results: per order, per WebSocket connection, and the latencies.</summary>
internal sealed record LifecycleResult(int Orders, Window PerRun, Window Connection, double[] PlacedToDelivered, IReadOnlyDictionary<string, int> FramesByStatus);

/// <summary>
/// Orders placed one at a time by a customer holding a WebSocket open, each measured from just before POST /orders
/// to the DELIVERED notification on the socket, through the whole local system (stream, queues, carrier
/// simulator with delays 0, status updater, @connections push). The calls the whole life of the orders costs are
/// counted meanwhile; the connection's own ($connect, $disconnect) apart.
/// </summary>
internal sealed class OrderLifecycle(LocalHost host, HttpClient api, string token, OrderCreation orders, AwsCallMeter meter, CapacityMeter capacity)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _delivered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _framesByStatus = new(StringComparer.Ordinal);
    private int _frames;

    public async Task<LifecycleResult> RunAsync(int count, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        var connect = await MeasureAsync(async () =>
        {
            await socket.ConnectAsync(new Uri(host.WebSockets.Endpoint, $"?token={Uri.EscapeDataString(token)}"), cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }, cancellationToken);
        var reading = ReadAsync(socket, cancellationToken);

        var latencies = new double[count];
        var run = await MeasureAsync(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var (a, b) = orders.TwoProducts();
                var started = Stopwatch.GetTimestamp();
                using var response = await api.PostAsync("/orders", OrderCreation.OrderBody(a, b), cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {body}");
                }

                var orderId = JsonDocument.Parse(body).RootElement.GetProperty("orderId").GetString()!;
                var delivered = await Delivered(orderId).Task.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);
                latencies[i] = Stopwatch.GetElapsedTime(started, delivered).TotalMilliseconds;
            }

            // Trailing work of the last order (deletes of consumed messages, stream records of its last update).
            await Task.Delay(Settle, cancellationToken);
        }, cancellationToken);

        var disconnect = await MeasureAsync(async () =>
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
            await reading;
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }, cancellationToken);

        Array.Sort(latencies);
        return new LifecycleResult(count, run, Merge(connect, disconnect), latencies, _framesByStatus);
    }

    private TaskCompletionSource<long> Delivered(string orderId) =>
        _delivered.GetOrAdd(orderId, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<Window> MeasureAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        meter.Reset();
        capacity.Reset();
        var framesBefore = Volatile.Read(ref _frames);
        meter.Counting = true;
        capacity.Counting = true;
        try
        {
            await work();
        }
        finally
        {
            meter.Counting = false;
            capacity.Counting = false;
        }

        var calls = meter.Snapshot();
        var frames = Volatile.Read(ref _frames) - framesBefore;

        // Billing the transactions reads their items: only now that nothing is counted.
        return new Window(calls, capacity.ReadUnits, capacity.WriteUnits, frames, await capacity.ByTableAsync(cancellationToken));
    }

    private static Window Merge(Window a, Window b)
    {
        var calls = new Dictionary<string, AwsCallMeter.Count>(a.Calls, StringComparer.Ordinal);
        foreach (var (name, count) in b.Calls)
        {
            calls[name] = calls.TryGetValue(name, out var existing) ? existing + count : count;
        }

        var units = new Dictionary<string, TableUnits>(a.UnitsByTable, StringComparer.Ordinal);
        foreach (var (table, unit) in b.UnitsByTable)
        {
            units[table] = units.GetValueOrDefault(table) + unit;
        }

        return new Window(calls, a.ReadUnits + b.ReadUnits, a.WriteUnits + b.WriteUnits, a.Frames + b.Frames, units);
    }

    private async Task ReadAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (socket.State == WebSocketState.Open)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cancellationToken);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            var received = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _frames);
            using var frame = JsonDocument.Parse(message.ToArray());
            if (frame.RootElement.TryGetProperty("status", out var status) && frame.RootElement.TryGetProperty("orderId", out var orderId))
            {
                _framesByStatus.AddOrUpdate(status.GetString()!, 1, (_, n) => n + 1);
                if (status.GetString() == "DELIVERED")
                {
                    Delivered(orderId.GetString()!).TrySetResult(received);
                }
            }
        }
    }

    /// <summary>Send one message and receive it, one at a time, on a FIFO queue of its own on the same fauxqs.</summary>
    public static async Task<double[]> RawSqsRoundTripsAsync(IAmazonSQS sqs, int count, CancellationToken cancellationToken)
    {
        var url = (await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = $"bench-{Guid.NewGuid():N}.fifo",
            Attributes = new Dictionary<string, string> { ["FifoQueue"] = "true" },
        }, cancellationToken)).QueueUrl;
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await sqs.SendMessageAsync(new SendMessageRequest
            {
                QueueUrl = url,
                MessageBody = "ping",
                MessageGroupId = "g",
                MessageDeduplicationId = Guid.NewGuid().ToString("N"),
            }, cancellationToken);
            var received = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 20 }, cancellationToken);
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            await sqs.DeleteMessageAsync(url, received.Messages!.Single().ReceiptHandle, cancellationToken);
        }

        await sqs.DeleteQueueAsync(url, cancellationToken);
        Array.Sort(times);
        return times;
    }
}
