using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Functions;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.EventSources;
using OrderProcessing.Local.Provisioning;
using OrderProcessing.Local.Seeding;
using OrderProcessing.Local.WebSockets;

namespace OrderProcessing.Local;

/// <summary>How to run the local host.</summary>
public sealed record LocalHostOptions
{
    /// <summary>The repository root: template.yaml and localstack/ are found there.</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary>Where the Functions app listens; "http://localhost:5000" unless overridden.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://localhost:5000"];

    /// <summary>Where the WebSocket API listens, as API Gateway gives it its own URL.</summary>
    public string WebSocketUrl { get; init; } = "http://localhost:5001";

    /// <summary>Names every table and queue, as a CloudFormation stack name would.</summary>
    public string StackName { get; init; } = "orderprocessing-local";

    /// <summary>
    /// Where AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS) and the AWS credentials are read:
    /// services named there are used and no emulator is started. The process environment unless set.
    /// </summary>
    public IConfiguration AwsEnvironment { get; init; } = new ConfigurationBuilder().AddEnvironmentVariables().Build();

    /// <summary>
    /// Emulators that are already running (another local host's, to run a second stack beside it): used as they are and
    /// left running when this host stops. Null: AWS_ENDPOINT_URL, else emulators started (and stopped) by this host.
    /// </summary>
    public LocalCloud? Cloud { get; init; }

    public TimeSpan EmulatorTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Seed the demo catalogue (idempotent).</summary>
    public bool SeedDemoData { get; init; } = true;

    /// <summary>Play Lambda's event source mappings (the Orders stream → /events).</summary>
    public bool StartEventSources { get; init; } = true;

    /// <summary>Template parameter values other than the defaults, as `sam deploy --parameter-overrides` gives them.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Receive SQS messages with this visibility timeout instead of each queue's own (<c>--visibility-timeout</c>): a
    /// failed message then comes back, and a poison one reaches its DLQ, in seconds instead of the template's minutes.
    /// </summary>
    public TimeSpan? QueueVisibilityTimeout { get; init; }

    /// <summary>Told what is happening during start-up.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>Configuration of the Functions app over the template's environment, as a function's own environment variables would be.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Give the app only this function's environment (globals and its own), as its Lambda function gets it.</summary>
    public string? FunctionLogicalId { get; init; }

    /// <summary>How the app's console log lines look: JSON as on Lambda unless the command line asks for text.</summary>
    public Logging.LogFormat LogFormat { get; init; } = Logging.LogFormat.Json;

    /// <summary>Where the app's log lines and metrics go instead of standard output (the invoke command's stderr).</summary>
    public TextWriter? LogOutput { get; init; }

    public string TemplatePath => Path.Combine(RepositoryRoot, "template.yaml");

    public string LocalstackDirectory => Path.Combine(RepositoryRoot, "localstack");

    /// <summary>Where the local signing keys live: .local/ is git-ignored and shared by every local host of this checkout.</summary>
    public string SigningKeyDirectory => Path.Combine(RepositoryRoot, ".local", "signing-keys");
}

/// <summary>
/// The whole system on one machine: the local cloud, the resources of template.yaml, and the Functions app
/// with the configuration a deployed function would get.
/// </summary>
public sealed class LocalHost : IAsyncDisposable
{
    private LocalHost(LocalCloud cloud, ProvisionedStack stack, WebSocketGateway gateway, WebApplication app, IReadOnlyList<SeededClient> clients,
        TimeSpan startup)
    {
        Cloud = cloud;
        Stack = stack;
        WebSockets = gateway;
        App = app;
        Clients = clients;
        StartupTime = startup;
    }

    private bool _ownsCloud;

    /// <summary>The local API Gateway WebSocket API.</summary>
    public WebSocketGateway WebSockets { get; }

    /// <summary>The event source mappings being played (null when not started).</summary>
    public StreamEventSources? EventSources { get; private set; }

    /// <summary>The SQS event source mappings being played (null when not started).</summary>
    public SqsEventSources? QueueSources { get; private set; }

    private HttpClient? _eventClient;

    public LocalCloud Cloud { get; }

    public ProvisionedStack Stack { get; }

    public WebApplication App { get; }

    /// <summary>The OAuth clients seeded into the local stack (demo and admin).</summary>
    public IReadOnlyList<SeededClient> Clients { get; }

    public TimeSpan StartupTime { get; }

    /// <summary>The addresses the Functions app actually listens on (after port 0 is resolved).</summary>
    public IReadOnlyList<Uri> Urls =>
        App.Urls.Select(u => new Uri(u.Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal))).ToList();

    public static async Task<LocalHost> StartAsync(LocalHostOptions options, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        if (!File.Exists(options.TemplatePath))
        {
            throw new SetupException($"template.yaml was not found at {options.TemplatePath}; run from the repository root or pass --repository.");
        }

        var template = SamTemplate.Load(options.TemplatePath);
        var external = options.Cloud is null ? ExternalCloud.FromEnvironment(options.AwsEnvironment) : null;
        if (external is not null)
        {
            await ExternalCloud.CheckAsync(external, options.AwsEnvironment, cancellationToken);
        }

        var cloud = options.Cloud ?? external ?? await LocalCloud.StartAsync(new LocalCloudOptions
        {
            LocalstackDirectory = options.LocalstackDirectory,
            StartTimeout = options.EmulatorTimeout,
            Progress = options.Progress,
        }, cancellationToken);

        try
        {
            var stack = await ProvisionAsync(cloud, template, options.StackName, options.Parameters, options.FunctionLogicalId, cancellationToken);
            options.Progress?.Invoke($"Provisioned {stack.Tables.Count} tables and {stack.Queues.Count} queues from {options.TemplatePath}");
            if (options.SeedDemoData)
            {
                await SeedAsync(cloud, stack, cancellationToken);
            }

            // The gateway first: the app is told its callback URL, the gateway finds the app when it calls it.
            WebApplication? app = null;
            var gateway = await WebSocketGateway.StartAsync(
                new WebSocketGatewayOptions
                {
                    Url = options.WebSocketUrl,
                    Routes = WebSocketRoutes(template),
                    // The @connections API accepts the identity the app signs with, as resolved from the app's settings.
                    Credentials = () => AwsClients.OptionsFor(app!.Configuration, "EXECUTE_API").Credentials
                                        ?? Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials(),
                },
                () => new Uri(new Uri(app!.Urls.First().Replace("://[::]", "://localhost", StringComparison.Ordinal)), "/events"),
                NullLogger.Instance,
                cancellationToken);
            try
            {
                app = BuildApp(cloud, stack, gateway, options);
                IReadOnlyList<SeededClient> clients;
                try
                {
                    // A single function (invoke) seeds the demo clients only when it has the clients table.
                    clients = string.IsNullOrEmpty(app.Configuration["CLIENTS_TABLE"])
                        ? []
                        : await DemoClients.SeedAsync(app.Services, cancellationToken);
                    await app.StartAsync(cancellationToken);
                }
                catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    await app.DisposeAsync();
                    throw new SetupException($"{string.Join(", ", options.Urls)} is already in use; stop what holds the port or pass --urls http://localhost:<free port>.", e);
                }

                var host = new LocalHost(cloud, stack, gateway, app, clients, clock.Elapsed) { _ownsCloud = options.Cloud is null };
                if (options.StartEventSources)
                {
                    await host.StartEventSourcesAsync(template, options, cancellationToken);
                }

                return host;
            }
            catch
            {
                await gateway.DisposeAsync();
                throw;
            }
        }
        catch
        {
            if (options.Cloud is null)
            {
                await cloud.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// Creates the template's tables and queues on the given cloud under <paramref name="stackName"/> (what exists is
    /// kept), as <c>sam deploy</c> would: <paramref name="parameters"/> are values other than the defaults, as
    /// <c>--parameter-overrides</c> gives them; <paramref name="function"/>, when given, limits the environment to that
    /// function's (globals and its own), as its Lambda function gets it.
    /// </summary>
    public static async Task<ProvisionedStack> ProvisionAsync(LocalCloud cloud, SamTemplate template, string stackName,
        IReadOnlyDictionary<string, string>? parameters = null, string? function = null, CancellationToken cancellationToken = default)
    {
        using var dynamo = cloud.CreateDynamoDbClient();
        using var sqs = cloud.CreateSqsClient();
        var context = new StackContext(stackName, LocalCloud.Region, "000000000000",
            ParameterValues(template, parameters ?? new Dictionary<string, string>()));
        return await new Provisioner(dynamo, sqs).ProvisionAsync(template, context, function, cancellationToken);
    }

    /// <summary>The template's parameter defaults with the given values over them.</summary>
    public static IReadOnlyDictionary<string, string> ParameterValues(SamTemplate template, IReadOnlyDictionary<string, string> overrides)
    {
        var values = template.ParameterDefaults.ToDictionary(StringComparer.Ordinal);
        foreach (var (name, value) in overrides)
        {
            values[name] = values.ContainsKey(name)
                ? value
                : throw new SetupException($"template.yaml has no parameter {name}; it has {string.Join(", ", values.Keys)}.");
        }

        return values;
    }

    /// <summary>The demo catalogue; products already there are left alone.</summary>
    private static async Task SeedAsync(LocalCloud cloud, ProvisionedStack stack, CancellationToken cancellationToken)
    {
        using var dynamo = cloud.CreateDynamoDbClient();
        await DemoCatalogue.SeedAsync(dynamo, stack.Tables["ProductsTable"], TimeProvider.System, cancellationToken);
    }

    private async Task StartEventSourcesAsync(SamTemplate template, LocalHostOptions options, CancellationToken cancellationToken)
    {
        _eventClient = new HttpClient { BaseAddress = Urls[0], Timeout = TimeSpan.FromSeconds(60) };
        var loggers = App.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>();
        EventSources = await StreamEventSources.StartAsync(template, Cloud, Stack, _eventClient, loggers, cancellationToken);
        QueueSources = SqsEventSources.Start(template, Stack, ParameterValues(template, options.Parameters), Cloud, _eventClient,
            new SqsSourceOptions { VisibilityTimeout = options.QueueVisibilityTimeout }, loggers);
    }

    /// <summary>The route keys of the template's WebSocket API, besides the ones every API has.</summary>
    private static HashSet<string> WebSocketRoutes(SamTemplate template) =>
        template.ResourcesOfType("AWS::ApiGatewayV2::Route")
            .Select(r => (r.Property("RouteKey") as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value)
            .OfType<string>()
            .Where(k => k is not "$connect" and not "$disconnect" and not "$default")
            .ToHashSet();

    private static WebApplication BuildApp(LocalCloud cloud, ProvisionedStack stack, WebSocketGateway gateway, LocalHostOptions options)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(OrderProcessingApp).Assembly.GetName().Name,
            ContentRootPath = Path.Combine(options.RepositoryRoot, "src", "Functions"),
        });
        // Under everything else, so that appsettings and environment variables can turn the framework's lines back on.
        // Not for invoke (LogOutput set): one function's lines stay as its Lambda function writes them.
        if (options.LogOutput is null)
        {
            builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = Logging.LocalLogging.QuietFramework });
        }
        // As environment variables: "__" separates sections (Logging__LogLevel__Default).
        builder.Configuration.AddInMemoryCollection(stack.Environment.Select(e =>
            KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)));
        builder.Configuration.AddInMemoryCollection(cloud.ClientSettings);
        builder.Configuration.AddInMemoryCollection([KeyValuePair.Create("AUTH_LOCAL_KEY_DIR", (string?)options.SigningKeyDirectory)]);
        builder.Configuration.AddInMemoryCollection([KeyValuePair.Create(ApiDocs.ReferencePageSetting, (string?)"true")]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = gateway.CallbackUrl.ToString() });
        if (Issuer(options) is { } issuer)
        {
            builder.Configuration.AddInMemoryCollection([KeyValuePair.Create("AUTH_ISSUER", (string?)issuer)]);
        }

        builder.Configuration.AddInMemoryCollection(new SqsSourceOptions { VisibilityTimeout = options.QueueVisibilityTimeout }.FunctionSettings);
        builder.Configuration.AddInMemoryCollection(options.Settings);
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.AddOrderProcessing();
        if (options.LogOutput is { } logOutput)
        {
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<ILoggerProvider>(services =>
                new Invoke.WriterLoggerProvider(WriterLoggerProviderFormatter(services), logOutput));
        }

        else if (options.LogFormat == Logging.LogFormat.Text)
        {
            Logging.LocalLogging.UseText(builder.Logging);
        }

        var app = builder.Build();
        if (options.LogOutput is not null)
        {
            app.Services.GetRequiredService<Metrics>().Output = options.LogOutput;
        }
        else if (options.LogFormat == Logging.LogFormat.Text)
        {
            // The metrics' JSON (CloudWatch's embedded metric format) is for CloudWatch, not for a person reading along.
            app.Services.GetRequiredService<Metrics>().Output = TextWriter.Null;
        }

        app.MapOrderProcessing();
        ServeWebPage(app, Path.Combine(options.RepositoryRoot, "web"));
        return app;
    }

    private static Microsoft.Extensions.Logging.Console.ConsoleFormatter WriterLoggerProviderFormatter(IServiceProvider services) =>
        services.GetServices<Microsoft.Extensions.Logging.Console.ConsoleFormatter>().First(f => f.Name == JsonLogFormatter.Name);

    /// <summary>
    /// The user's AUTH_ISSUER when set: it wins over the template's empty AuthIssuer default, as it would on AWS.
    /// Otherwise tokens name the API's own URL as issuer. Derived from each request, a token fetched from 127.0.0.1
    /// would not pass the WebSocket check, which reaches the app at localhost; so the issuer is pinned to the first
    /// URL when its port is known in advance.
    /// </summary>
    private static string? Issuer(LocalHostOptions options)
    {
        if (Environment.GetEnvironmentVariable("AUTH_ISSUER") is { Length: > 0 } userIssuer)
        {
            return userIssuer;
        }

        return options.Urls.Count > 0
            && Uri.TryCreate(options.Urls[0], UriKind.Absolute, out var url)
            && url.Port > 0
            && url.Host is not ("+" or "*" or "0.0.0.0" or "[::]")
                ? url.GetLeftPart(UriPartial.Authority)
                : null;
    }

    /// <summary>The reference client (web/) at /app/; only the local host serves it, never a function.</summary>
    private static void ServeWebPage(WebApplication app, string folder)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        var files = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(folder);
        // Routing ignores a trailing slash, so the redirect to /app/ is middleware, not an endpoint (which would
        // also match /app/ and keep the static files from serving it).
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value == "/app")
            {
                context.Response.Redirect("/app/");
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = "/app" });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = "/app" });
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (QueueSources is not null)
            {
                await QueueSources.DisposeAsync();
            }

            if (EventSources is not null)
            {
                await EventSources.DisposeAsync();
            }

            _eventClient?.Dispose();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await WebSockets.DisposeAsync();
            await App.StopAsync(timeout.Token);
        }
        finally
        {
            await App.DisposeAsync();
            if (_ownsCloud)
            {
                await Cloud.DisposeAsync();
            }
        }
    }
}
