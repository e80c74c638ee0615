using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.EventSources;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>How a test wants its local host, when the defaults of <see cref="SystemFixture"/> will not do.</summary>
public sealed record SystemOptions
{
    /// <summary>Settings of the app, over the test settings (carrier delays 0, fast secret hashing).</summary>
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }

    /// <summary>Template parameters other than the defaults.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Emulators of the test's own (to stop one of them); the run's shared ones when null.</summary>
    public LocalCloud? Cloud { get; init; }

    /// <summary>Receive SQS messages with this visibility timeout (the local host's --visibility-timeout).</summary>
    public TimeSpan? QueueVisibilityTimeout { get; init; }

    /// <summary>
    /// Wraps the handler the event source mappings post to /events with (e.g. to deliver every event twice, as
    /// at-least-once delivery may): the fixture then plays the mappings itself instead of the local host.
    /// </summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? EventDelivery { get; init; }
}

/// <summary>
/// The whole system as the local host runs it (API, WebSocket API, Orders stream and SQS event source mappings,
/// seeded demo data) in this process, on free ports, under a stack name of its own, on the run's shared emulators,
/// with what a test needs to look at what it did: tables and queues (<see cref="Data"/>), log entries
/// (<see cref="Logs"/>, <see cref="JsonLogs"/>) and EMF metrics (<see cref="Metric"/>).
/// <list type="bullet">
/// <item>Shared by the tests of a class: <c>IClassFixture&lt;SystemFixture&gt;</c>. Each test makes its own customer
/// (<see cref="NewCustomerAsync"/>) and products, and looks only at its own orders and connections.</item>
/// <item>A test that changes the system (settings, parameters, emulators, event delivery) starts its own with
/// <see cref="StartAsync"/> and disposes it.</item>
/// </list>
/// Everything it starts is stopped when it is disposed; emulators the test brought stay the test's to stop.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    private readonly CloudFixture _cloud;
    private readonly SystemOptions _options;
    private readonly StringWriter _metrics = new();
    private HttpClient? _events;
    private StackData? _data;
    private LocalHost? _host;
    private string? _keys;
    private StreamEventSources? _ownStreams;
    private SqsEventSources? _ownQueues;

    /// <summary>The local host with the defaults: what a test class shares.</summary>
    public SystemFixture(CloudFixture cloud)
        : this(cloud, new SystemOptions())
    {
    }

    private SystemFixture(CloudFixture cloud, SystemOptions options)
    {
        _cloud = cloud;
        _options = options;
    }

    /// <summary>A local host of the test's own, started; the test disposes it.</summary>
    public static Task<SystemFixture> StartAsync(CloudFixture cloud, SystemOptions options) =>
        OwnFixture.StartAsync(new SystemFixture(cloud, options));

    /// <summary>Settings every local host of the tests gets: the carrier simulator without delays, fast secret hashing.</summary>
    public static IReadOnlyDictionary<string, string?> TestSettings { get; } = new Dictionary<string, string?>
    {
        ["CARRIER_PICKUP_DELAY_SECONDS"] = "0",
        ["CARRIER_TRANSIT_DELAY_SECONDS"] = "0",
        ["CARRIER_DELIVERY_DELAY_SECONDS"] = "0",
        ["AUTH_SECRET_HASH_ITERATIONS"] = "1000",
    };

    public LocalHost Host => _host ?? throw new InvalidOperationException("The local host has not been started.");

    public Uri Api => Host.Urls[0];

    public Uri WebSocket => Host.WebSockets.Endpoint;

    /// <summary>The stack's tables and queues, read and written directly.</summary>
    public StackData Data => _data ?? throw new InvalidOperationException("The local host has not been started.");

    /// <summary>The Orders stream mapping being played.</summary>
    public StreamEventSources Streams => _ownStreams ?? Host.EventSources!;

    /// <summary>The SQS event source mappings being played.</summary>
    public SqsEventSources Queues => _ownQueues ?? Host.QueueSources!;

    /// <summary>The app's log entries with the values of their scopes.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The app's log lines as its JSON formatter writes them.</summary>
    public JsonLogCapture JsonLogs { get; } = new();

    public async ValueTask InitializeAsync()
    {
        _keys = Directory.CreateTempSubdirectory("op-keys").FullName;
        _host = await LocalHost.StartAsync(new LocalHostOptions
        {
            RepositoryRoot = Repository.Root,
            Cloud = _options.Cloud ?? _cloud.Cloud,
            Urls = ["http://127.0.0.1:0"],
            WebSocketUrl = "http://127.0.0.1:0",
            StackName = $"e2e-{Guid.NewGuid().ToString("N")[..8]}",
            Parameters = _options.Parameters,
            QueueVisibilityTimeout = _options.QueueVisibilityTimeout,
            StartEventSources = _options.EventDelivery is null,
            Settings = new Dictionary<string, string?>(TestSettings.Concat(_options.Settings ?? new Dictionary<string, string?>()))
            {
                ["AUTH_LOCAL_KEY_DIR"] = _keys,
            },
        });
        var app = Host.App.Services;
        app.GetRequiredService<Metrics>().Output = TextWriter.Synchronized(_metrics);
        var loggers = app.GetRequiredService<ILoggerFactory>();
        loggers.AddProvider(Logs);
        loggers.AddProvider(JsonLogs);
        _data = new StackData(Host.Stack, Host.Cloud.CreateDynamoDbClient(), Host.Cloud.CreateSqsClient());
        if (_options.EventDelivery is { } delivery)
        {
#pragma warning disable CA2000 // The HttpClient owns and disposes the handler chain.
            _events = new HttpClient(delivery(new SocketsHttpHandler())) { BaseAddress = Api, Timeout = TimeSpan.FromSeconds(60) };
#pragma warning restore CA2000
            _ownStreams = await StreamEventSources.StartAsync(_cloud.Template, Host.Cloud, Host.Stack, _events, loggers);
            _ownQueues = SqsEventSources.Start(_cloud.Template, Host.Stack, LocalHost.ParameterValues(_cloud.Template, _options.Parameters),
                Host.Cloud, _events, new SqsSourceOptions { VisibilityTimeout = _options.QueueVisibilityTimeout }, loggers);
        }
    }

    /// <summary>An access token for a client (the seeded demo client: demo / demo-secret, every customer scope).</summary>
    public async Task<string> TokenAsync(string clientId, string secret, string? scope = null)
    {
        using var http = new HttpClient { BaseAddress = Api };
        return await TestData.AccessTokenAsync(http, clientId, secret, scope);
    }

    /// <summary>Registers a client of its own with these scopes in the stack, as POST /admin/clients does.</summary>
    public Task<(string ClientId, string Secret)> RegisterClientAsync(IReadOnlyList<string> scopes, string name = "client") =>
        TestData.RegisterClientAsync(Host.App.Services, scopes, $"{name.Replace(' ', '-')}-{Guid.NewGuid():N}");

    /// <summary>A new customer client of its own (the customer scopes), with a token; no other test sees its orders.</summary>
    public async Task<(string ClientId, string Token)> NewCustomerAsync(string name)
    {
        var (clientId, secret) = await RegisterClientAsync(Scopes.Customer, name);
        return (clientId, await TokenAsync(clientId, secret));
    }

    /// <summary>An HttpClient of the API that sends this bearer token.</summary>
    public HttpClient Client(string token) => new HttpClient { BaseAddress = Api }.WithBearer(token);

    /// <summary>A WebSocket connection of the WebSocket API, authenticated with the token in the query string.</summary>
    public async Task<ClientWebSocket> ConnectAsync(string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await socket.ConnectAsync(new Uri(WebSocket, $"?token={Uri.EscapeDataString(token)}"), CancellationToken.None);
        return socket;
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
        if (_ownQueues is not null)
        {
            await _ownQueues.DisposeAsync();
        }

        if (_ownStreams is not null)
        {
            await _ownStreams.DisposeAsync();
        }

        _events?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _data?.Dispose();
        await _metrics.DisposeAsync();
        if (_keys is not null && Directory.Exists(_keys))
        {
            Directory.Delete(_keys, recursive: true);
        }
    }
}
