using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.KeyManagementService;
using Amazon.SQS;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;
using Testcontainers.LocalStack;

[assembly: AssemblyFixture(typeof(OrderProcessing.Tests.Infrastructure.CloudFixture))]

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The AWS backend of the whole test run, picked once: <c>ORDERPROCESSING_TEST_BACKEND=moto</c> → moto_server,
/// started here on a free port; else AWS_ENDPOINT_URL if set; else LocalStack in Docker when a Docker engine
/// answers; else the npm emulators of localstack/, started here on free ports. What is started here is stopped
/// (by PID) when the run ends. Tests provision their own uniquely named stack, so they can run in parallel.
/// </summary>
public sealed class CloudFixture : IAsyncLifetime
{
    /// <summary>Names the backend: <c>moto</c>, or unset for the choice above.</summary>
    public const string BackendVariable = "ORDERPROCESSING_TEST_BACKEND";

    private readonly SemaphoreSlim _motoStart = new(1, 1);
    private LocalStackContainer? _container;
    private MotoServer? _moto;
    private int _stacks;

    public LocalCloud Cloud { get; private set; } = null!;

    /// <summary>Which backend was picked, for test output.</summary>
    public string Backend { get; private set; } = "";

    public SamTemplate Template { get; } = SamTemplate.Load(Repository.TemplatePath);

    /// <summary>True when the backend is moto_server.</summary>
    public bool OnMoto { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var backend = Environment.GetEnvironmentVariable(BackendVariable);
        if (string.Equals(backend, "moto", StringComparison.OrdinalIgnoreCase))
        {
            _moto = await MotoServer.StartAsync(TimeSpan.FromSeconds(120));
            Cloud = LocalCloud.Attach(_moto.Endpoint, emulatorCredentials: true);
            Backend = $"moto_server ({_moto.Endpoint}, pid {_moto.ProcessId})";
            OnMoto = true;
        }
        else if (backend is { Length: > 0 })
        {
            throw new InvalidOperationException($"{BackendVariable}={backend} is not a backend; use 'moto' or leave it unset.");
        }
        else if (Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL") is { Length: > 0 } endpoint)
        {
            Cloud = LocalCloud.Attach(new Uri(endpoint), emulatorCredentials: false);
            Backend = $"AWS_ENDPOINT_URL ({endpoint})";
        }
        else if (await DockerEngineAnswersAsync())
        {
            var builder = new LocalStackBuilder("localstack/localstack:4.4");
            if (Environment.GetEnvironmentVariable("LOCALSTACK_AUTH_TOKEN") is { Length: > 0 } token)
            {
                builder = builder.WithEnvironment("LOCALSTACK_AUTH_TOKEN", token);
            }

            _container = builder.Build();
            await _container.StartAsync();
            Cloud = LocalCloud.Attach(new Uri(_container.GetConnectionString()), emulatorCredentials: true);
            Backend = "LocalStack (Testcontainers)";
        }
        else
        {
            Cloud = await LocalCloud.StartAsync(new LocalCloudOptions { LocalstackDirectory = Repository.LocalstackDirectory });
            Backend = "localstack/ npm emulators";
        }
    }

    /// <summary>
    /// moto_server's endpoint, for what only moto emulates here (KMS): the backend itself when it is moto, else
    /// one moto_server started on first use and stopped with the run.
    /// </summary>
    public async Task<Uri> MotoEndpointAsync()
    {
        await _motoStart.WaitAsync();
        try
        {
            _moto ??= await MotoServer.StartAsync(TimeSpan.FromSeconds(120));
            return _moto.Endpoint;
        }
        finally
        {
            _motoStart.Release();
        }
    }

    /// <summary>
    /// Creates every table and queue of template.yaml under a stack name no other test uses (parameters other than
    /// the template's defaults when given).
    /// </summary>
    public Task<ProvisionedStack> ProvisionAsync(string purpose = "t", IReadOnlyDictionary<string, string>? parameters = null)
    {
        var name = $"{purpose}-{Interlocked.Increment(ref _stacks)}-{Guid.NewGuid().ToString("N")[..8]}";
        return LocalHost.ProvisionAsync(Cloud, Template, name, parameters);
    }

    /// <summary>A DynamoDB client of the backend (<see cref="LocalCloud.CreateDynamoDbClient"/>); the caller disposes it.</summary>
    public IAmazonDynamoDB CreateDynamoDbClient() => Cloud.CreateDynamoDbClient();

    /// <summary>An SQS client of the backend; the caller disposes it.</summary>
    public IAmazonSQS CreateSqsClient() => Cloud.CreateSqsClient();

    /// <summary>A KMS client of moto_server (<see cref="MotoEndpointAsync"/>), configured as the app configures its own.</summary>
    public async Task<IAmazonKeyManagementService> CreateKmsClientAsync() => Cloud.CreateKmsClient(await MotoEndpointAsync());

    public async ValueTask DisposeAsync()
    {
        await Cloud.DisposeAsync();
        if (_moto is not null)
        {
            await _moto.DisposeAsync();
        }

        _motoStart.Dispose();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }

    private static async Task<bool> DockerEngineAnswersAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var socketPath = host is { Length: > 0 } && host.StartsWith("unix://", StringComparison.Ordinal)
            ? host["unix://".Length..]
            : "/var/run/docker.sock";
        if (host is { Length: > 0 } && !host.StartsWith("unix://", StringComparison.Ordinal))
        {
            return true; // A TCP engine was named explicitly; trust it.
        }

        if (!File.Exists(socketPath))
        {
            return false;
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"), timeout.Token);
            var buffer = new byte[64];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).Contains(" 200 ", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }
}

/// <summary>A fixture a test makes for itself (not shared through xunit), started as xunit would start a shared one.</summary>
public static class OwnFixture
{
    /// <summary>Initializes <paramref name="fixture"/>; disposes it (stopping what it started) when that fails.</summary>
    public static async Task<T> StartAsync<T>(T fixture) where T : IAsyncLifetime
    {
        try
        {
            await fixture.InitializeAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }
}
