using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Tests.Delivery;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// The whole system as the local host runs it (API, WebSocket API, Orders stream and SQS event source mappings)
/// with the means to look at what it did: its tables and queues, the EMF metric lines and the log entries it wrote.
/// On the run's shared emulators unless a test brings its own <see cref="LocalCloud"/> (to stop one of them).
/// </summary>
public sealed class RunningSystem : IAsyncDisposable
{
    private readonly StringWriter _metrics = new();

    private RunningSystem(LocalHostFixture host, LocalCloud cloud)
    {
        Host = host;
        var settings = new ConfigurationBuilder().AddInMemoryCollection(cloud.ClientSettings).Build();
        Dynamo = AwsClients.OptionsFor(settings, "DYNAMODB").CreateServiceClient<IAmazonDynamoDB>();
        Sqs = AwsClients.OptionsFor(settings, "SQS").CreateServiceClient<IAmazonSQS>();
    }

    public LocalHostFixture Host { get; }

    public LocalHost Local => Host.Host;

    public IAmazonDynamoDB Dynamo { get; }

    public IAmazonSQS Sqs { get; }

    public CapturedLogs Logs { get; } = new();

    /// <param name="cloud">The run's emulators.</param>
    /// <param name="settings">Knobs of the app, over the local host test settings (carrier delays 0).</param>
    /// <param name="configure">Further local host options: another cloud, visibility timeout, how events reach the app.</param>
    public static async Task<RunningSystem> StartAsync(CloudFixture cloud, IReadOnlyDictionary<string, string?>? settings = null,
        Func<LocalHostOptions, LocalHostOptions>? configure = null)
    {
        var host = new LocalHostFixture(cloud, settings, configure);
        await host.InitializeAsync();
        var system = new RunningSystem(host, host.Host.Cloud);
        var app = host.Host.App.Services;
        app.GetRequiredService<Metrics>().Output = TextWriter.Synchronized(system._metrics);
        app.GetRequiredService<ILoggerFactory>().AddProvider(system.Logs);
        return system;
    }

    /// <summary>A product straight into the table, with a unique id.</summary>
    public async Task<string> AddProductAsync(int stock)
    {
        var id = $"p-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        await Dynamo.PutItemAsync(Local.Stack.Tables["ProductsTable"], ProductStore.ToItem(new Product(id, "Parcel", null, 5m, "EUR", stock, now, now)));
        return id;
    }

    public async Task<int> StockAsync(string productId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Local.Stack.Tables["ProductsTable"],
            Key = ProductStore.Key(productId),
            ConsistentRead = true,
        })).Item;
        return (int)DynamoItem.WholeNumber(item, "stock");
    }

    public async Task<Order?> OrderAsync(string orderId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Local.Stack.Tables["OrdersTable"],
            Key = OrderStore.Key(orderId),
            ConsistentRead = true,
        })).Item;
        return item is { Count: > 0 } ? OrderStore.FromItem(item) : null;
    }

    /// <summary>Every order in the stack (a test-only Scan, to see exactly what was written).</summary>
    public async Task<List<Order>> OrdersAsync() => (await ScanAsync("OrdersTable")).Select(OrderStore.FromItem).ToList();

    /// <summary>Every shipment in the stack (a test-only Scan: sees what was written, whatever its id).</summary>
    public async Task<List<Shipment>> ShipmentsAsync() => (await ScanAsync("ShipmentsTable")).Select(ShipmentStore.FromItem).ToList();

    public async Task<Order> WaitForOrderAsync(string orderId, Func<Order, bool> condition, TimeSpan? timeout = null)
    {
        Order? last = null;
        await Eventually.HoldsAsync(async () => (last = await OrderAsync(orderId)) is { } order && condition(order), timeout,
            () => $"order {orderId} is {last?.Status.ToWire() ?? "missing"}");
        return last!;
    }

    /// <summary>Messages visible, in flight or delayed in a queue of the stack: zero when it has been drained.</summary>
    public async Task<int> MessagesInAsync(string queueLogicalId)
    {
        var attributes = await Sqs.GetQueueAttributesAsync(Local.Stack.Queues[queueLogicalId].Url,
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]);
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible + attributes.ApproximateNumberOfMessagesDelayed;
    }

    /// <summary>Waits until none of these queues holds a message.</summary>
    public async Task WaitUntilDrainedAsync(params string[] queueLogicalIds)
    {
        var counts = new Dictionary<string, int>();
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var queue in queueLogicalIds)
            {
                counts[queue] = await MessagesInAsync(queue);
            }

            return counts.Values.All(c => c == 0);
        }, TimeSpan.FromSeconds(90), () => string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}")));
    }

    /// <summary>The sum of every data point of an EMF metric the app wrote since it started.</summary>
    public double Metric(string name)
    {
        var total = 0.0;
        foreach (var line in _metrics.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
            {
                total += value.GetDouble();
            }
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Dynamo.Dispose();
        Sqs.Dispose();
        await _metrics.DisposeAsync();
    }

    private async Task<List<Dictionary<string, AttributeValue>>> ScanAsync(string tableLogicalId)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await Dynamo.ScanAsync(new ScanRequest
            {
                TableName = Local.Stack.Tables[tableLogicalId],
                ConsistentRead = true,
                ExclusiveStartKey = start,
            });
            items.AddRange(page.Items ?? []);
            start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        }
        while (start is not null);
        return items;
    }
}

/// <summary>Every text frame a WebSocket client receives, read in the background until it is disposed.</summary>
public sealed class FrameRecorder : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentQueue<JsonElement> _frames = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    public FrameRecorder(ClientWebSocket socket)
    {
        _socket = socket;
        _reading = Task.Run(ReadAsync);
    }

    public IReadOnlyList<JsonElement> Frames => [.. _frames];

    /// <summary>The order status notifications received, in arrival order, as (orderId, status).</summary>
    public IReadOnlyList<(string OrderId, string Status)> StatusChanges =>
        Frames.Where(f => f.GetProperty("type").GetString() == "order.status_changed")
            .Select(f => (f.GetProperty("orderId").GetString()!, f.GetProperty("status").GetString()!))
            .ToList();

    /// <summary>Waits until no frame has arrived for <paramref name="quiet"/>: whatever was still on its way is in.</summary>
    public async Task QuietAsync(TimeSpan quiet)
    {
        var seen = _frames.Count;
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow - since < quiet)
        {
            await Task.Delay(100);
            if (_frames.Count != seen)
            {
                (seen, since) = (_frames.Count, DateTime.UtcNow);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    using var json = JsonDocument.Parse(Encoding.UTF8.GetString(message.ToArray()));
                    _frames.Enqueue(json.RootElement.Clone());
                    message.SetLength(0);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }
}
