using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Local;
using OrderProcessing.Local.EventSources;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>How a test wants its in-process app, when the defaults of <see cref="AppFixture"/> will not do.</summary>
public sealed record AppOptions
{
    /// <summary>The delivery pipeline: event source mappings on, status changes recorded instead of pushed.</summary>
    public static AppOptions Pipeline => new() { Purpose = "dlv", EventSources = true, RecordStatusChanges = true };

    /// <summary>A stack the test provisioned itself (e.g. for two apps on one stack); null: one of the fixture's own.</summary>
    public ProvisionedStack? Stack { get; init; }

    /// <summary>The first part of the stack name, to tell in the emulator whose tables they are.</summary>
    public string Purpose { get; init; } = "app";

    /// <summary>The simulated carrier moves shipments (with every delay 0); off, only the webhook does.</summary>
    public bool CarrierSimulator { get; init; } = true;

    /// <summary>Play the event source mappings (the Orders stream and every SQS queue) against the app.</summary>
    public bool EventSources { get; init; }

    /// <summary>Visibility timeout of every receive of the event sources: how soon a failed message comes back.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Sits between the event source mappings and the app's /events (to watch or repeat what is delivered).</summary>
    public Func<DelegatingHandler>? EventDelivery { get; init; }

    /// <summary>Record status changes in <see cref="AppFixture.StatusChanges"/> instead of the app's WebSocket push.</summary>
    public bool RecordStatusChanges { get; init; }

    /// <summary>Settings of the app, over the stack's.</summary>
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }

    /// <summary>Changes to the app's services (ConfigureTestServices).</summary>
    public Action<IServiceCollection>? Services { get; init; }
}

/// <summary>
/// The Functions app in memory (<see cref="WebApplicationFactory{TEntryPoint}"/>), configured exactly as the local
/// host configures it: the environment template.yaml gives the functions, resolved against a stack of its own, plus
/// the backend's endpoints; optionally with the event source mappings the local host plays, posting to it.
/// <list type="bullet">
/// <item>Shared by the tests of a class: <c>IClassFixture&lt;AppFixture&gt;</c> (defaults, no event sources); each
/// test makes its own products and clients (<see cref="Data"/>, <see cref="TestData"/>), so none sees another's.</item>
/// <item>A class whose tests all want the same other options shares a one-line subclass that names them.</item>
/// <item>A test that changes the app (settings, services, event sources, a stack shared by two apps) makes its own
/// with <see cref="CreateAsync(CloudFixture, AppOptions?)"/> and disposes it.</item>
/// </list>
/// Each app signs tokens with keys in its own temporary folder unless settings name AUTH_LOCAL_KEY_DIR (give two apps
/// the same folder to play two instances of one deployment), hashes client secrets with 1,000 PBKDF2 iterations
/// instead of 600,000 so that minting tokens stays fast, and writes its log entries to <see cref="Logs"/> and
/// <see cref="JsonLogs"/> too.
/// </summary>
public class AppFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string WebhookSecret = "test-carrier-secret";

    private readonly AppOptions _options;
    private readonly bool _ownsKeyDirectory;
    private readonly Lazy<Task<TestClient>> _orderingCustomer;
    private StreamEventSources? _streams;
    private HttpClient? _events;
    private StackData? _data;
    private int _disposed;

    /// <summary>The app with the defaults, on a stack of its own: what a test class shares.</summary>
    public AppFixture(CloudFixture cloud)
        : this(cloud, new AppOptions())
    {
    }

    /// <summary>A class fixture of other options: <c>sealed class Flavour(CloudFixture cloud) : AppFixture(cloud, options)</c>.</summary>
    protected AppFixture(CloudFixture cloud, AppOptions options)
    {
        Cloud = cloud;
        _options = options;
        _ownsKeyDirectory = options.Settings?.ContainsKey("AUTH_LOCAL_KEY_DIR") != true;
        SigningKeyDirectory = options.Settings?.GetValueOrDefault("AUTH_LOCAL_KEY_DIR")
            ?? Path.Combine(Path.GetTempPath(), "orderprocessing-tests", Guid.NewGuid().ToString("N"));
        _orderingCustomer = new Lazy<Task<TestClient>>(() => this.CreateClientAsync(Scopes.Customer));
    }

    /// <summary>An app of the test's own, started (stack provisioned, event sources playing); the test disposes it.</summary>
    public static Task<AppFixture> CreateAsync(CloudFixture cloud, AppOptions? options = null) =>
        OwnFixture.StartAsync(new AppFixture(cloud, options ?? new AppOptions()));

    /// <summary>An app of the test's own on a stack it provisioned, with these settings and service changes.</summary>
    public static Task<AppFixture> CreateAsync(CloudFixture cloud, ProvisionedStack stack, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null) =>
        CreateAsync(cloud, new AppOptions { Stack = stack, Settings = settings, Services = services });

    public CloudFixture Cloud { get; }

    public ProvisionedStack Stack { get; private set; } = null!;

    /// <summary>The stack's parameter values.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; private set; } = null!;

    /// <summary>The stack's tables and queues, read and written directly.</summary>
    public StackData Data => _data ?? throw new InvalidOperationException("The app has not been initialized.");

    /// <summary>Where this app keeps its signing keys.</summary>
    public string SigningKeyDirectory { get; }

    /// <summary>The SQS event source mappings being played (null without <see cref="AppOptions.EventSources"/>).</summary>
    public SqsEventSources? Queues { get; private set; }

    /// <summary>Every status change Orders announced (with <see cref="AppOptions.RecordStatusChanges"/>).</summary>
    public RecordingStatusObserver StatusChanges { get; } = new();

    public CapturedLogs Logs { get; } = new();

    /// <summary>The same log entries as the app's JSON formatter writes them (trace ids included).</summary>
    public JsonLogCapture JsonLogs { get; } = new();

    public async ValueTask InitializeAsync()
    {
        if (_options.Stack is { } stack)
        {
            Stack = stack;
            Parameters = LocalHost.ParameterValues(Cloud.Template, new Dictionary<string, string>());
        }
        else
        {
            var overrides = new Dictionary<string, string>
            {
                ["EnableCarrierSimulator"] = _options.CarrierSimulator ? "true" : "false",
                ["CarrierPickupDelaySeconds"] = "0",
                ["CarrierTransitDelaySeconds"] = "0",
                ["CarrierDeliveryDelaySeconds"] = "0",
                ["CarrierWebhookSecret"] = WebhookSecret,
            };
            Parameters = LocalHost.ParameterValues(Cloud.Template, overrides);
            Stack = await Cloud.ProvisionAsync(_options.Purpose, overrides);
        }

        _data = new StackData(Stack, Cloud.Cloud.CreateDynamoDbClient(), Cloud.Cloud.CreateSqsClient());
        if (_options.EventSources)
        {
            _events = _options.EventDelivery is { } delivery ? CreateDefaultClient(delivery()) : CreateClient();
            var loggers = Services.GetRequiredService<ILoggerFactory>();
            _streams = await StreamEventSources.StartAsync(Cloud.Template, Cloud.Cloud, Stack, _events, loggers);
            Queues = SqsEventSources.Start(Cloud.Template, Stack, Parameters, Cloud.Cloud, _events,
                new SqsSourceOptions { VisibilityTimeout = _options.VisibilityTimeout }, loggers);
        }
    }

    /// <summary>A newly registered customer app (its own client id, the customer scopes) with a real bearer token.</summary>
    public async Task<HttpClient> CustomerAsync(string? clientId = null) =>
        (await this.CreateClientAsync(Scopes.Customer, clientId ?? $"client-{Guid.NewGuid():N}")).Http;

    /// <summary>A newly registered client with exactly these scopes.</summary>
    public async Task<HttpClient> CallerAsync(string clientId, params string[] scopes) => (await this.CreateClientAsync(scopes, clientId)).Http;

    /// <summary>An operator: the admin scope, and products:read to see the catalogue.</summary>
    public Task<HttpClient> AdminAsync() => CallerAsync($"admin-{Guid.NewGuid():N}", Scopes.Admin, Scopes.ProductsRead);

    /// <summary>The customer <see cref="PlaceOrderAsync"/> places orders for (the owner of those orders).</summary>
    public Task<TestClient> OrderingCustomer => _orderingCustomer.Value;

    /// <summary>Places an order of one unit of a new product through POST /orders, with the given correlation id.</summary>
    public async Task<Order> PlaceOrderAsync(string? correlationId = null, string? traceParent = null)
    {
        var productId = await Data.AddProductAsync(stock: 10, price: 5m);
        var client = await OrderingCustomer;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/orders", UriKind.Relative))
        {
            Content = TestData.JsonContent(TestData.OrderBody([(productId, 1)])),
        };
        request.Headers.Add("X-Correlation-Id", correlationId ?? $"test-{Guid.NewGuid():N}");
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        using var response = await client.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Order>(TestData.Json))!;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Stack.Environment)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in Cloud.Cloud.ClientSettings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("AUTH_LOCAL_KEY_DIR", SigningKeyDirectory);
        builder.UseSetting("AUTH_SECRET_HASH_ITERATIONS", "1000");
        foreach (var (key, value) in new SqsSourceOptions { VisibilityTimeout = _options.VisibilityTimeout }.FunctionSettings)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in _options.Settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<ILoggerProvider>(Logs);
            services.AddSingleton<ILoggerProvider>(JsonLogs);
            if (_options.RecordStatusChanges)
            {
                services.RemoveAll<IOrderStatusObserver>();
                services.AddSingleton<IOrderStatusObserver>(StatusChanges);
            }

            _options.Services?.Invoke(services);
        });
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (Queues is not null)
        {
            await Queues.DisposeAsync();
        }

        if (_streams is not null)
        {
            await _streams.DisposeAsync();
        }

        _events?.Dispose();
        if (_orderingCustomer.IsValueCreated && _orderingCustomer.Value.IsCompletedSuccessfully)
        {
            (await _orderingCustomer.Value).Dispose();
        }

        await base.DisposeAsync();
        _data?.Dispose();
        if (_ownsKeyDirectory && Directory.Exists(SigningKeyDirectory))
        {
            Directory.Delete(SigningKeyDirectory, recursive: true);
        }

        GC.SuppressFinalize(this);
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

    public Task<bool> OnStatusChangedAsync(OrderStatusChange change, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _announcements);
        _seen.TryAdd((change.OrderId, change.Version), change);
        return Task.FromResult(true);
    }
}

