using System.Diagnostics;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.Extensions.NETCore.Setup;
using Amazon.KeyManagementService;
using Amazon.SQS;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Local.Cloud;

/// <summary>Where the local cloud's emulators live and how long they may take to answer.</summary>
public sealed record LocalCloudOptions
{
    /// <summary>The folder holding package.json and node_modules with the pinned emulators.</summary>
    public required string LocalstackDirectory { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The PATH searched for java and node; the process's PATH when null.</summary>
    public string? SearchPath { get; init; }

    /// <summary>An endpoint serving every AWS service (LocalStack, real AWS); when set, nothing is started.</summary>
    public string? EndpointUrl { get; init; }

    /// <summary>Told of each emulator as it starts and answers (the local host prints these lines).</summary>
    public Action<string>? Progress { get; init; }
}

/// <summary>
/// The AWS services the system needs, on this machine: DynamoDB Local and fauxqs started from
/// localstack/node_modules on free ports, or whatever AWS_ENDPOINT_URL names.
/// </summary>
public sealed class LocalCloud : IAsyncDisposable
{
    public const string Region = "us-east-1";

    /// <summary>The dummy credentials of an emulator, which takes any: LocalStack documents these.</summary>
    public const string AccessKeyId = "test";

    public const string SecretAccessKey = "test";

    private readonly List<EmulatorProcess> _emulators = [];

    private LocalCloud(Uri dynamoDb, Uri sqs, bool external, bool emulatorCredentials)
    {
        DynamoDbEndpoint = dynamoDb;
        SqsEndpoint = sqs;
        IsExternal = external;
        UsesEmulatorCredentials = emulatorCredentials;
    }

    /// <summary>
    /// Uses one endpoint for every service and starts nothing: AWS_ENDPOINT_URL, or a LocalStack container.
    /// An emulator accepts any credentials, so the local ones are used; elsewhere the caller's own apply.
    /// </summary>
    public static LocalCloud Attach(Uri endpoint, bool emulatorCredentials) =>
        new(endpoint, endpoint, external: true, emulatorCredentials);

    /// <summary>Uses two running services (e.g. the emulators of a running local host) and starts nothing.</summary>
    public static LocalCloud Attach(Uri dynamoDb, Uri sqs, bool emulatorCredentials) =>
        new(dynamoDb, sqs, external: true, emulatorCredentials);

    public Uri DynamoDbEndpoint { get; }

    public Uri SqsEndpoint { get; }

    /// <summary>True when the fixed local credentials and region are used (any emulator accepts them).</summary>
    public bool UsesEmulatorCredentials { get; }

    /// <summary>True when the services came from AWS_ENDPOINT_URL and nothing was started here.</summary>
    public bool IsExternal { get; }

    public IReadOnlyList<EmulatorProcess> Emulators => _emulators;

    public EmulatorProcess? DynamoDbEmulator => _emulators.FirstOrDefault(e => e.Name == DynamoDbName);

    public EmulatorProcess? SqsEmulator => _emulators.FirstOrDefault(e => e.Name == SqsName);

    private const string DynamoDbName = "DynamoDB Local";
    private const string SqsName = "fauxqs (SQS)";

    /// <summary>
    /// Settings that point the app's AWS clients at these services. Credentials and region are set only
    /// for emulators, which accept any; an external endpoint uses the caller's own.
    /// </summary>
    public IReadOnlyDictionary<string, string?> ClientSettings
    {
        get
        {
            var settings = new Dictionary<string, string?>
            {
                ["AWS_ENDPOINT_URL_DYNAMODB"] = DynamoDbEndpoint.ToString(),
                ["AWS_ENDPOINT_URL_SQS"] = SqsEndpoint.ToString(),
            };
            if (UsesEmulatorCredentials)
            {
                settings["AWS_REGION"] = Region;
                settings["AWS_ACCESS_KEY_ID"] = AccessKeyId;
                settings["AWS_SECRET_ACCESS_KEY"] = SecretAccessKey;
            }

            return settings;
        }
    }

    /// <summary>
    /// What the AWS clients of the local host, its event sources, the bench and the tests are configured from: the
    /// process environment (a profile, AWS_REGION) with <see cref="ClientSettings"/> over it.
    /// </summary>
    public IConfiguration ClientConfiguration =>
        new ConfigurationBuilder().AddEnvironmentVariables().AddInMemoryCollection(ClientSettings).Build();

    /// <summary>
    /// How the app's <see cref="AwsClients"/> would configure its client of <paramref name="serviceId"/> ("DYNAMODB",
    /// "SQS", "KMS", "EXECUTE_API") against this cloud; <paramref name="endpoint"/> points that one service elsewhere
    /// (moto_server for KMS, which the npm emulators do not serve).
    /// </summary>
    public AWSOptions ClientOptions(string serviceId, Uri? endpoint = null)
    {
        var configuration = endpoint is null
            ? ClientConfiguration
            : new ConfigurationBuilder()
                .AddConfiguration(ClientConfiguration)
                .AddInMemoryCollection([KeyValuePair.Create($"AWS_ENDPOINT_URL_{serviceId}", (string?)endpoint.ToString())])
                .Build();
        return AwsClients.OptionsFor(configuration, serviceId);
    }

    /// <summary>A DynamoDB client of this cloud; the caller disposes it.</summary>
    public IAmazonDynamoDB CreateDynamoDbClient() => ClientOptions("DYNAMODB").CreateServiceClient<IAmazonDynamoDB>();

    /// <summary>An SQS client of this cloud; the caller disposes it.</summary>
    public IAmazonSQS CreateSqsClient() => ClientOptions("SQS").CreateServiceClient<IAmazonSQS>();

    /// <summary>A KMS client, at <paramref name="endpoint"/> when given (this cloud's emulators serve no KMS); the caller disposes it.</summary>
    public IAmazonKeyManagementService CreateKmsClient(Uri? endpoint = null) =>
        ClientOptions("KMS", endpoint).CreateServiceClient<IAmazonKeyManagementService>();

    public static async Task<LocalCloud> StartAsync(LocalCloudOptions options, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrEmpty(options.EndpointUrl))
        {
            return Attach(new Uri(options.EndpointUrl), emulatorCredentials: false);
        }

        var plan = Preflight(options);
        var started = new List<EmulatorProcess>();
        try
        {
            var dynamo = await StartEmulatorAsync(plan.DynamoDb, options, started, cancellationToken);
            var sqs = await StartEmulatorAsync(plan.Sqs, options, started, cancellationToken);
            var cloud = new LocalCloud(dynamo.Endpoint, sqs.Endpoint, external: false, emulatorCredentials: true);
            cloud._emulators.AddRange(started);
            return cloud;
        }
        catch
        {
            foreach (var emulator in started.AsEnumerable().Reverse())
            {
                await emulator.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Stops the DynamoDB emulator, to see how the system copes without it.</summary>
    public async Task StopDynamoDbAsync()
    {
        if (DynamoDbEmulator is { } emulator)
        {
            await emulator.DisposeAsync();
            _emulators.Remove(emulator);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var emulator in _emulators.AsEnumerable().Reverse())
        {
            await emulator.DisposeAsync();
        }

        _emulators.Clear();
    }

    /// <summary>How to start one emulator on a given port, and the call that says it is ready.</summary>
    private sealed record EmulatorPlan(string Name, Func<int, ProcessStartInfo> StartInfo, string ProbeTarget);

    private sealed record Plan(EmulatorPlan DynamoDb, EmulatorPlan Sqs);

    /// <summary>Checks everything that can be checked before starting anything, with one-line fixes.</summary>
    private static Plan Preflight(LocalCloudOptions options)
    {
        var java = Executables.Find("java", options.SearchPath)
            ?? throw new SetupException("Java 17+ is required to run DynamoDB Local but `java` is not on PATH; install a JDK or JRE 17+ (e.g. `apt-get install openjdk-17-jre-headless`).");
        var node = Executables.Find("node", options.SearchPath)
            ?? throw new SetupException("Node.js 20+ is required to run fauxqs (SQS) but `node` is not on PATH; install Node.js 20 or later.");

        var modules = Path.Combine(options.LocalstackDirectory, "node_modules");
        var dynamoDir = Path.Combine(modules, "amplify-dynamodb-simulator", "emulator");
        var dynamoJar = Path.Combine(dynamoDir, "DynamoDBLocal.jar");
        var fauxqsCli = Path.Combine(modules, "fauxqs", "dist", "cli.js");
        if (!File.Exists(dynamoJar) || !File.Exists(fauxqsCli))
        {
            throw new SetupException(
                $"The local emulators are not installed in {options.LocalstackDirectory}; run `npm ci --prefix localstack` from the repository root.");
        }

        ProcessStartInfo Dynamo(int port) => new(java)
        {
            ArgumentList =
            {
                $"-Djava.library.path={Path.Combine(dynamoDir, "DynamoDBLocal_lib")}", "-Xms64m",
                "-jar", dynamoJar, "-sharedDb", "-inMemory", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            WorkingDirectory = dynamoDir,
        };

        ProcessStartInfo Sqs(int port)
        {
            var sqs = new ProcessStartInfo(node) { ArgumentList = { fauxqsCli }, WorkingDirectory = options.LocalstackDirectory };
            sqs.Environment["FAUXQS_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            sqs.Environment["FAUXQS_DEFAULT_REGION"] = Region;
            sqs.Environment["FAUXQS_LOGGER"] = "false";
            return sqs;
        }

        return new Plan(
            new EmulatorPlan(DynamoDbName, Dynamo, "DynamoDB_20120810.ListTables"),
            new EmulatorPlan(SqsName, Sqs, "AmazonSQS.ListQueues"));
    }

    private static async Task<EmulatorProcess> StartEmulatorAsync(EmulatorPlan plan, LocalCloudOptions options, List<EmulatorProcess> started,
        CancellationToken cancellationToken)
    {
        var emulator = await EmulatorProcess.StartOnFreePortAsync(plan.Name, plan.StartInfo, port => new Uri($"http://localhost:{port}"),
            (http, endpoint, ct) => ProbeAsync(http, endpoint, plan.ProbeTarget, ct), options.StartTimeout, options.Progress, cancellationToken);
        started.Add(emulator);
        return emulator;
    }

    /// <summary>Both emulators speak the AWS JSON protocol; a list call answering 200 means ready.</summary>
    private static async Task<bool> ProbeAsync(HttpClient http, Uri endpoint, string target, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.0"),
        };
        request.Content.Headers.ContentType!.CharSet = null;
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("Authorization",
            $"AWS4-HMAC-SHA256 Credential={AccessKeyId}/20260101/{Region}/probe/aws4_request, SignedHeaders=host, Signature=0");
        using var response = await http.SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode;
    }
}
