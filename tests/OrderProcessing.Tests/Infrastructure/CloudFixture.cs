using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.SQS;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;
using Testcontainers.LocalStack;

[assembly: AssemblyFixture(typeof(OrderProcessing.Tests.Infrastructure.CloudFixture))]

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The AWS backend of the whole test run, picked once: AWS_ENDPOINT_URL if set; else LocalStack in Docker
/// when a Docker engine answers; else the npm emulators of localstack/, started here on free ports and
/// stopped when the run ends. Tests provision their own uniquely named stack, so they can run in parallel.
/// </summary>
public sealed class CloudFixture : IAsyncLifetime
{
    private LocalStackContainer? _container;
    private int _stacks;

    public LocalCloud Cloud { get; private set; } = null!;

    /// <summary>Which backend was picked, for test output.</summary>
    public string Backend { get; private set; } = "";

    public SamTemplate Template { get; } = SamTemplate.Load(Repository.TemplatePath);

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL") is { Length: > 0 } endpoint)
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

    /// <summary>Creates every table and queue of template.yaml under a stack name no other test uses.</summary>
    public Task<ProvisionedStack> ProvisionAsync(string purpose = "t")
    {
        var name = $"{purpose}-{Interlocked.Increment(ref _stacks)}-{Guid.NewGuid().ToString("N")[..8]}";
        return LocalHost.ProvisionAsync(Cloud, Template, name);
    }

    /// <summary>Configuration that points an app or client at this backend.</summary>
    public IConfiguration ClientConfiguration =>
        new ConfigurationBuilder().AddInMemoryCollection(Cloud.ClientSettings).Build();

    public IAmazonDynamoDB CreateDynamoDbClient() =>
        AwsClients.OptionsFor(ClientConfiguration, "DYNAMODB").CreateServiceClient<IAmazonDynamoDB>();

    public IAmazonSQS CreateSqsClient() =>
        AwsClients.OptionsFor(ClientConfiguration, "SQS").CreateServiceClient<IAmazonSQS>();

    public async ValueTask DisposeAsync()
    {
        await Cloud.DisposeAsync();
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
