using System.Globalization;
using Amazon.SQS;
using Microsoft.Extensions.Logging;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.EventSources;

/// <summary>
/// Every SQS event source of template.yaml (Events of Type SQS on a function whose Condition holds for the
/// stack's parameters), started against a provisioned stack and posting to one app, as the deployed event source
/// mappings would: batch size, batching window, ReportBatchItemFailures and MaximumConcurrency come from the template.
/// </summary>
public sealed class SqsEventSources : IAsyncDisposable
{
    private readonly List<SqsQueueSource> _sources;
    private readonly IAmazonSQS _sqs;

    private SqsEventSources(List<SqsQueueSource> sources, IAmazonSQS sqs)
    {
        _sources = sources;
        _sqs = sqs;
    }

    public IReadOnlyList<SqsQueueSource> Sources => _sources;

    /// <summary>The source reading the queue of the given logical id.</summary>
    public SqsQueueSource For(string queueLogicalId) =>
        _sources.SingleOrDefault(s => s.Settings.QueueLogicalId == queueLogicalId)
        ?? throw new InvalidOperationException($"No SQS event source reads {queueLogicalId}.");

    /// <summary>The SQS event sources of the functions that a stack with these parameters deploys.</summary>
    public static IReadOnlyList<SqsSourceSettings> FromTemplate(SamTemplate template, StackContext stack) =>
        template.ResourcesOfType("AWS::Serverless::Function")
            .Where(function => function.Condition is not { } condition || TemplateConditions.IsTrue(template, condition, stack))
            .SelectMany(function => (function.Property("Events") is YamlMappingNode events ? events.Children.Values : [])
                .Where(e => (SamTemplate.Child(e, "Type") as YamlScalarNode)?.Value == "SQS")
                .Select(e => SamTemplate.Child(e, "Properties"))
                .Select(p => Settings(template, function.LogicalId, p)))
            .ToList();

    private static SqsSourceSettings Settings(SamTemplate template, string function, YamlNode? properties)
    {
        var queue = LogicalIdOf(SamTemplate.Child(properties, "Queue"));
        var fifo = template.Resources.FirstOrDefault(r => r.LogicalId == queue)?.Property("FifoQueue") is YamlScalarNode { Value: "true" or "True" };
        var settings = new SqsSourceSettings
        {
            FunctionLogicalId = function,
            QueueLogicalId = queue,
            BatchSize = Int(properties, "BatchSize") ?? 10,
            MaximumBatchingWindowInSeconds = Int(properties, "MaximumBatchingWindowInSeconds") ?? 0,
            ReportBatchItemFailures = SamTemplate.Child(properties, "FunctionResponseTypes") is YamlSequenceNode types
                && types.Children.OfType<YamlScalarNode>().Any(t => t.Value == "ReportBatchItemFailures"),
            MaximumConcurrency = Int(SamTemplate.Child(properties, "ScalingConfig"), "MaximumConcurrency"),
        };
        if (fifo && (settings.MaximumBatchingWindowInSeconds > 0 || settings.BatchSize > 10))
        {
            throw new InvalidDataException(
                $"template.yaml: {function} reads FIFO queue {queue} with a batching window or a batch size over 10, which Lambda refuses.");
        }

        return settings;
    }

    /// <param name="template">Where the event sources are declared.</param>
    /// <param name="stack">The provisioned stack: its queues.</param>
    /// <param name="parameters">The stack's parameter values, for the functions' Conditions.</param>
    /// <param name="cloud">The emulators or endpoint the stack lives on.</param>
    /// <param name="function">Posts to the app (BaseAddress = the app's root); owned by the caller.</param>
    /// <param name="options">Local settings (visibility timeout override, pollers).</param>
    /// <param name="loggers">Where the sources log.</param>
    public static SqsEventSources Start(SamTemplate template, ProvisionedStack stack, IReadOnlyDictionary<string, string> parameters, LocalCloud cloud,
        HttpClient function, SqsSourceOptions options, ILoggerFactory loggers)
    {
        var context = new StackContext(stack.StackName, LocalCloud.Region, "000000000000", parameters);
        var settings = cloud.ClientConfiguration;
        var sqs = cloud.CreateSqsClient();
        var sources = FromTemplate(template, context)
            .Select(source => new SqsQueueSource(source,
                stack.Queues.TryGetValue(source.QueueLogicalId, out var queue)
                    ? queue
                    : throw new InvalidDataException($"template.yaml: {source.FunctionLogicalId} reads {source.QueueLogicalId}, which is not a queue of the stack."),
                sqs, function, options, settings["AWS_REGION"] ?? LocalCloud.Region,
                loggers.CreateLogger($"OrderProcessing.Local.{source.FunctionLogicalId}")))
            .ToList();
        foreach (var source in sources)
        {
            source.Start();
        }

        return new SqsEventSources(sources, sqs);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources)
        {
            await source.DisposeAsync();
        }

        _sqs.Dispose();
    }

    /// <summary>"!GetAtt OrderEventsQueue.Arn" (or its long forms) → OrderEventsQueue.</summary>
    private static string LogicalIdOf(YamlNode? node) => node switch
    {
        YamlScalarNode scalar => scalar.Value!.Split('.')[0],
        YamlSequenceNode sequence => ((YamlScalarNode)sequence.Children[0]).Value!,
        YamlMappingNode map when map.Children.Count == 1 => LogicalIdOf(map.Children.First().Value),
        _ => throw new InvalidDataException($"template.yaml: cannot tell which queue {node?.Start} refers to."),
    };

    private static int? Int(YamlNode? node, string key) =>
        (SamTemplate.Child(node, key) as YamlScalarNode)?.Value is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
