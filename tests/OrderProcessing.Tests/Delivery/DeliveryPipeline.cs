using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;
using OrderProcessing.Local.EventSources;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Delivery;

/// <summary>How a test wants its delivery pipeline.</summary>
public sealed record PipelineOptions
{
    /// <summary>The simulated carrier moves shipments (with every delay 0); off, only the webhook does.</summary>
    public bool CarrierSimulator { get; init; } = true;

    /// <summary>Play the event source mappings (Orders stream and every SQS queue) against the app.</summary>
    public bool EventSources { get; init; } = true;

    /// <summary>Visibility timeout of every receive: how soon a failed message comes back.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Sits between the event source mappings and the app's /events (to watch or repeat what is delivered).</summary>
    public Func<DelegatingHandler>? EventDelivery { get; init; }

    /// <summary>
    /// Keeps the app's own observer of status changes (the WebSocket push) instead of recording the changes in
    /// <see cref="DeliveryPipeline.StatusChanges"/>.
    /// </summary>
    public bool RealPush { get; init; }

    /// <summary>Settings of the app, over the stack's.</summary>
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }
}

/// <summary>
/// A provisioned stack, the Functions app in memory, and the event source mappings the local host plays
/// (the Orders stream and every SQS event source of template.yaml) posting to that app: the delivery pipeline
/// through real queues and tables, as on AWS, with a stack of its own so queues and DLQs are the test's alone.
/// </summary>
public sealed class DeliveryPipeline : IAsyncDisposable
{
    public const string WebhookSecret = "test-carrier-secret";

    private readonly Lazy<Task<TestClient>> _customer;
    private StreamEventSources? _streams;
    private HttpClient? _events;

    private DeliveryPipeline(CloudFixture cloud, ProvisionedStack stack, AppFactory app, IReadOnlyDictionary<string, string> parameters)
    {
        Cloud = cloud;
        Stack = stack;
        App = app;
        Parameters = parameters;
        Dynamo = cloud.CreateDynamoDbClient();
        Sqs = cloud.CreateSqsClient();
        _customer = new Lazy<Task<TestClient>>(CustomerAsync);
    }

    public CloudFixture Cloud { get; }

    public ProvisionedStack Stack { get; }

    public AppFactory App { get; }

    public IReadOnlyDictionary<string, string> Parameters { get; }

    public IAmazonDynamoDB Dynamo { get; }

    public IAmazonSQS Sqs { get; }

    public SqsEventSources? Queues { get; private set; }

    /// <summary>Every status change Orders announced (unless <see cref="PipelineOptions.RealPush"/>).</summary>
    public RecordingStatusObserver StatusChanges { get; } = new();

    public CapturedLogs Logs { get; } = new();

    /// <summary>The same log entries as the app's JSON formatter writes them (trace ids included).</summary>
    public JsonLogCapture JsonLogs { get; } = new();

    public string OrdersTable => Stack.Tables["OrdersTable"];

    public string ShipmentsTable => Stack.Tables["ShipmentsTable"];

    public ProvisionedQueue Queue(string logicalId) => Stack.Queues[logicalId];

    public static async Task<DeliveryPipeline> StartAsync(CloudFixture cloud, PipelineOptions? options = null)
    {
        options ??= new PipelineOptions();
        var overrides = new Dictionary<string, string>
        {
            ["EnableCarrierSimulator"] = options.CarrierSimulator ? "true" : "false",
            ["CarrierPickupDelaySeconds"] = "0",
            ["CarrierTransitDelaySeconds"] = "0",
            ["CarrierDeliveryDelaySeconds"] = "0",
            ["CarrierWebhookSecret"] = WebhookSecret,
        };
        var parameters = LocalHost.ParameterValues(cloud.Template, overrides);
        var stack = await LocalHost.ProvisionAsync(cloud.Cloud, cloud.Template, $"dlv-{Guid.NewGuid().ToString("N")[..10]}", overrides);
        DeliveryPipeline? pipeline = null;
        var app = new AppFactory(cloud, stack, options.Settings, services =>
        {
            services.AddSingleton<ILoggerProvider>(pipeline!.Logs);
            services.AddSingleton<ILoggerProvider>(pipeline.JsonLogs);
            if (!options.RealPush)
            {
                services.RemoveAll<IOrderStatusObserver>();
                services.AddSingleton<IOrderStatusObserver>(pipeline.StatusChanges);
            }
        });
        pipeline = new DeliveryPipeline(cloud, stack, app, parameters);
        if (options.EventSources)
        {
            await pipeline.StartEventSourcesAsync(options);
        }

        return pipeline;
    }

    private async Task StartEventSourcesAsync(PipelineOptions options)
    {
        _events = options.EventDelivery is { } delivery ? App.CreateDefaultClient(delivery()) : App.CreateClient();
        var loggers = App.Services.GetRequiredService<ILoggerFactory>();
        _streams = await StreamEventSources.StartAsync(Cloud.Template, Cloud.Cloud, Stack, _events, loggers);
        Queues = SqsEventSources.Start(Cloud.Template, Stack, Parameters, Cloud.Cloud, _events,
            new SqsSourceOptions { VisibilityTimeout = options.VisibilityTimeout }, loggers);
    }

    /// <summary>A customer app of its own: a registered OAuth client with a real token for the customer scopes.</summary>
    public Task<TestClient> CustomerAsync() => App.CreateClientAsync(Scopes.Customer);

    /// <summary>The customer <see cref="PlaceOrderAsync"/> places orders for (the owner of those orders).</summary>
    public Task<TestClient> OrderingCustomer => _customer.Value;

    /// <summary>An operator's client with the admin scope.</summary>
    public Task<TestClient> AdminAsync() => App.CreateClientAsync([Scopes.Admin]);

    /// <summary>Places an order for a new product through POST /orders, with the given correlation id.</summary>
    public async Task<Order> PlaceOrderAsync(string? correlationId = null, string? traceParent = null)
    {
        var productId = $"p-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        await Dynamo.PutItemAsync(Stack.Tables["ProductsTable"], ProductStore.ToItem(new Product(productId, "Parcel", null, 5m, "EUR", 10, now, now)));
        var client = await _customer.Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/orders", UriKind.Relative))
        {
            Content = new StringContent(Orders.OrderingStack.OrderBody([(productId, 1)]), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Correlation-Id", correlationId ?? $"test-{Guid.NewGuid():N}");
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        using var response = await client.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Order>(Orders.OrderingStack.Json))!;
    }

    public async Task<Order?> OrderAsync(string orderId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest { TableName = OrdersTable, Key = OrderStore.Key(orderId), ConsistentRead = true })).Item;
        return item is { Count: > 0 } ? OrderStore.FromItem(item) : null;
    }

    public async Task<Shipment?> ShipmentAsync(string orderId)
    {
        var item = (await Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = ShipmentsTable,
            Key = ShipmentStore.Key(ShipmentIds.For(orderId)),
            ConsistentRead = true,
        })).Item;
        return item is { Count: > 0 } ? ShipmentStore.FromItem(item) : null;
    }

    /// <summary>Every shipment item of an order (a test-only Scan: sees exactly what was written, whatever its id).</summary>
    public async Task<List<Shipment>> ShipmentsOfAsync(string orderId)
    {
        var response = await Dynamo.ScanAsync(new ScanRequest
        {
            TableName = ShipmentsTable,
            ConsistentRead = true,
            FilterExpression = "orderId = :o",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":o"] = new() { S = orderId } },
        });
        return (response.Items ?? []).Select(ShipmentStore.FromItem).ToList();
    }

    public async Task<Order> WaitForOrderAsync(string orderId, Func<Order, bool> condition, TimeSpan? timeout = null)
    {
        Order? last = null;
        await Eventually.HoldsAsync(async () => (last = await OrderAsync(orderId)) is { } order && condition(order), timeout,
            () => $"order {orderId} is {last?.Status.ToWire() ?? "missing"}");
        return last!;
    }

    public async Task<Shipment> WaitForShipmentAsync(string orderId, Func<Shipment, bool>? condition = null, TimeSpan? timeout = null)
    {
        Shipment? last = null;
        await Eventually.HoldsAsync(async () => (last = await ShipmentAsync(orderId)) is { } shipment && (condition?.Invoke(shipment) ?? true),
            timeout, () => $"shipment of order {orderId} is {last?.Status.ToWire() ?? "missing"}");
        return last!;
    }

    /// <summary>Sends a message as a producer would, with the correlation id attribute.</summary>
    public Task SendAsync(string queueLogicalId, string body, string? groupId = null, string? correlationId = null) =>
        Sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = Queue(queueLogicalId).Url,
            MessageBody = body,
            MessageGroupId = groupId,
            MessageDeduplicationId = groupId is null ? null : Guid.NewGuid().ToString("N"),
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                ["correlation_id"] = new() { DataType = "String", StringValue = correlationId ?? $"test-{Guid.NewGuid():N}" },
            },
        });

    public static string StatusChange(string orderId, DeliveryStatus status, string source = DeliverySources.CarrierWebhook) =>
        JsonSerializer.Serialize(new DeliveryStatusChanged(orderId, ShipmentIds.For(orderId), status, DateTimeOffset.UtcNow,
            ShipmentIds.StatusEventId(ShipmentIds.For(orderId), status), source), DeliveryJson.Default.DeliveryStatusChanged);

    /// <summary>Messages visible in a queue, from its attributes (no receive, so nothing is hidden or counted).</summary>
    public async Task<int> VisibleMessagesAsync(string queueLogicalId) =>
        (await Sqs.GetQueueAttributesAsync(Queue(queueLogicalId).Url, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages;

    /// <summary>Messages visible or in flight: zero when a queue has been drained.</summary>
    public async Task<int> MessagesInAsync(string queueLogicalId)
    {
        var attributes = await Sqs.GetQueueAttributesAsync(Queue(queueLogicalId).Url,
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]);
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible + attributes.ApproximateNumberOfMessagesDelayed;
    }

    /// <summary>Reads a DLQ's messages and makes them visible again at once, so the test looks without taking.</summary>
    public async Task<List<Message>> PeekAsync(string queueLogicalId)
    {
        var url = Queue(queueLogicalId).Url;
        var messages = new List<Message>();
        while (true)
        {
            var received = (await Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                VisibilityTimeout = 30,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            })).Messages ?? [];
            if (received.Count == 0)
            {
                break;
            }

            messages.AddRange(received);
        }

        foreach (var message in messages)
        {
            await Sqs.ChangeMessageVisibilityAsync(url, message.ReceiptHandle, 0);
        }

        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        if (Queues is not null)
        {
            await Queues.DisposeAsync();
        }

        if (_streams is not null)
        {
            await _streams.DisposeAsync();
        }

        _events?.Dispose();
        if (_customer.IsValueCreated)
        {
            (await _customer.Value).Dispose();
        }

        await App.DisposeAsync();
        Dynamo.Dispose();
        Sqs.Dispose();
    }
}

/// <summary>Polls until a condition holds, failing with what was last seen.</summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? lastSeen = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(45));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not reached within {(timeout ?? TimeSpan.FromSeconds(45)).TotalSeconds} s: {lastSeen?.Invoke() ?? "condition false"}");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>
/// Records each order status change Orders announces, once per order version, as the real observer pushes it
/// (an announcement may come again after a retry); <see cref="Announcements"/> counts them all.
/// </summary>
public sealed class RecordingStatusObserver : IOrderStatusObserver
{
    private readonly ConcurrentDictionary<(string OrderId, long Version), OrderStatusChange> _seen = new();
    private int _announcements;

    public int Announcements => Volatile.Read(ref _announcements);

    public IReadOnlyList<OrderStatusChange> For(string orderId) =>
        _seen.Values.Where(n => n.OrderId == orderId).OrderBy(n => n.Version).ToList();

    public Task OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _announcements);
        _seen.TryAdd((change.OrderId, change.Version), change);
        return Task.CompletedTask;
    }
}

/// <summary>Log entries of the app with the values of their scopes (correlation_id, message_id, ...).</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public sealed record Entry(LogLevel Level, string Category, string Message, IReadOnlyDictionary<string, object?> Scope, Exception? Exception = null);

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logs._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            logs._scopes.ForEachScope((value, values) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object>> pairs)
                {
                    foreach (var (key, item) in pairs)
                    {
                        values[key] = item;
                    }
                }
            }, scope);
            logs._entries.Enqueue(new Entry(logLevel, category, formatter(state, exception), scope, exception));
        }
    }
}
