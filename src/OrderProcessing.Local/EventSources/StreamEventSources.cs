using System.Globalization;
using Amazon;
using Amazon.Runtime.Credentials;
using Amazon.SQS;
using Microsoft.Extensions.Logging;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.EventSources;

/// <summary>
/// Every DynamoDB stream event source of template.yaml (Events of Type DynamoDB on a function), started
/// against a provisioned stack and posting to one app, as the deployed event source mappings would.
/// </summary>
public sealed class StreamEventSources : IAsyncDisposable
{
    private readonly List<DynamoDbStreamSource> _sources;
    private readonly IAmazonSQS _sqs;
    private readonly HttpClient _function;

    private StreamEventSources(List<DynamoDbStreamSource> sources, IAmazonSQS sqs, HttpClient function)
    {
        _sources = sources;
        _sqs = sqs;
        _function = function;
    }

    public IReadOnlyList<DynamoDbStreamSource> Sources => _sources;

    /// <summary>The event sources the template declares.</summary>
    public static IReadOnlyList<StreamSourceSettings> FromTemplate(SamTemplate template) =>
        template.ResourcesOfType("AWS::Serverless::Function")
            .SelectMany(function => Events(function)
                .Where(e => (SamTemplate.Child(e, "Type") as YamlScalarNode)?.Value == "DynamoDB")
                .Select(e => SamTemplate.Child(e, "Properties"))
                .Select(p => new StreamSourceSettings
                {
                    FunctionLogicalId = function.LogicalId,
                    TableLogicalId = LogicalIdOf(SamTemplate.Child(p, "Stream")),
                    BatchSize = Int(p, "BatchSize") ?? 100,
                    StartingPosition = Text(p, "StartingPosition") ?? "LATEST",
                    MaximumRetryAttempts = Int(p, "MaximumRetryAttempts") ?? -1,
                    BisectBatchOnFunctionError = string.Equals(Text(p, "BisectBatchOnFunctionError"), "true", StringComparison.OrdinalIgnoreCase),
                    OnFailureQueueLogicalId = SamTemplate.Child(SamTemplate.Child(SamTemplate.Child(p, "DestinationConfig"), "OnFailure"), "Destination")
                        is { } destination ? LogicalIdOf(destination) : null,
                }))
            .ToList();

    /// <param name="template">Where the event sources are declared.</param>
    /// <param name="cloud">The emulators or endpoint the stack lives on.</param>
    /// <param name="stack">The provisioned stack.</param>
    /// <param name="function">Posts to the app (BaseAddress = the app's root); owned by the caller.</param>
    /// <param name="loggers">Where the sources log.</param>
    /// <param name="cancellationToken">Stops the start-up.</param>
    public static async Task<StreamEventSources> StartAsync(SamTemplate template, LocalCloud cloud, ProvisionedStack stack, HttpClient function,
        ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        // The Streams API has no client in the SDK we use: the sources sign their calls with the DynamoDB client's identity.
        var dynamoOptions = cloud.ClientOptions("DYNAMODB");
        var credentials = dynamoOptions.Credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var region = dynamoOptions.Region ?? RegionEndpoint.GetBySystemName(LocalCloud.Region);
        var sqs = cloud.CreateSqsClient();
        var sources = new List<DynamoDbStreamSource>();
        try
        {
            using var dynamo = cloud.CreateDynamoDbClient();
            foreach (var source in FromTemplate(template))
            {
                var table = stack.Tables[source.TableLogicalId];
                var streamArn = (await dynamo.DescribeTableAsync(table, cancellationToken)).Table.LatestStreamArn
                    ?? throw new SetupException($"Table {table} has no stream, but {source.FunctionLogicalId} reads one; check StreamSpecification in template.yaml.");
                var resolved = source with
                {
                    OnFailureQueueUrl = source.OnFailureQueueLogicalId is { } queue && stack.Queues.TryGetValue(queue, out var q) ? q.Url : null,
                };
                sources.Add(await DynamoDbStreamSource.StartAsync(resolved, streamArn, cloud.DynamoDbEndpoint, credentials, region, function, sqs,
                    loggers.CreateLogger($"OrderProcessing.Local.{source.FunctionLogicalId}"), cancellationToken));
            }
        }
        catch
        {
            foreach (var started in sources)
            {
                await started.DisposeAsync();
            }

            sqs.Dispose();
            throw;
        }

        return new StreamEventSources(sources, sqs, function);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources)
        {
            await source.DisposeAsync();
        }

        _sqs.Dispose();
        GC.KeepAlive(_function);
    }

    private static IEnumerable<YamlNode> Events(TemplateResource function) =>
        function.Property("Events") is YamlMappingNode events ? events.Children.Values : [];

    /// <summary>"!GetAtt OrdersTable.StreamArn" (or its long forms) → OrdersTable.</summary>
    private static string LogicalIdOf(YamlNode? node) => node switch
    {
        YamlScalarNode scalar => scalar.Value!.Split('.')[0],
        YamlSequenceNode sequence => ((YamlScalarNode)sequence.Children[0]).Value!,
        YamlMappingNode map when map.Children.Count == 1 => LogicalIdOf(map.Children.First().Value),
        _ => throw new InvalidDataException($"template.yaml: cannot tell which resource {node?.Start} refers to."),
    };

    private static string? Text(YamlNode? node, string key) => (SamTemplate.Child(node, key) as YamlScalarNode)?.Value;

    private static int? Int(YamlNode? node, string key) =>
        Text(node, key) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
