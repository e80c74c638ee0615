using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Functions.DeadLetters;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Local.Redrive;

/// <summary>
/// <c>dotnet run --project src/OrderProcessing.Local -- redrive &lt;queue&gt; --stack-name NAME [--sqs-endpoint URL]</c>:
/// moves the messages of a running stack's DLQ back to its source queue, as POST /admin/dlq/{queue}/redrive does,
/// with the same code. The queues are found from template.yaml and the stack name; nothing is created.
/// </summary>
public static class RedriveCommand
{
    public const string Name = "redrive";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, string repositoryRoot, IConfiguration environment, TextWriter output,
        CancellationToken cancellationToken = default)
    {
        string? queue = null;
        var stackName = "orderprocessing-local";
        var endpoint = environment["AWS_ENDPOINT_URL_SQS"] ?? environment["AWS_ENDPOINT_URL"];
        var endpointSource = environment["AWS_ENDPOINT_URL_SQS"] is not null ? "AWS_ENDPOINT_URL_SQS" : "AWS_ENDPOINT_URL";
        var limit = DeadLetterRedrive.DefaultLimit;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--stack-name" when value is not null:
                    stackName = value;
                    i++;
                    break;
                case "--sqs-endpoint" when value is not null:
                    endpoint = value;
                    endpointSource = "--sqs-endpoint";
                    i++;
                    break;
                case "--repository" when value is not null:
                    repositoryRoot = Path.GetFullPath(value);
                    i++;
                    break;
                case "--limit" when value is not null && int.TryParse(value, CultureInfo.InvariantCulture, out var parsed) && parsed > 0:
                    limit = parsed;
                    i++;
                    break;
                case "-h" or "--help":
                    await output.WriteLineAsync(Usage);
                    return 0;
                case { } name when !name.StartsWith('-') && queue is null:
                    queue = name;
                    break;
                default:
                    await output.WriteLineAsync($"error: unexpected argument {args[i]}.\n{Usage}");
                    return 2;
            }
        }

        if (queue is null || !DeadLetterRoutes.Known.ContainsKey(queue))
        {
            await output.WriteLineAsync($"error: name the queue whose DLQ to redrive: one of {string.Join(", ", DeadLetterRoutes.Known.Keys)}.\n{Usage}");
            return 2;
        }

        try
        {
            await CommandAws.CheckAsync(environment, endpoint, endpointSource, cancellationToken);
        }
        catch (SetupException e)
        {
            await output.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        var template = SamTemplate.Load(Path.Combine(repositoryRoot, "template.yaml"));
        var settings = CommandAws.Settings(environment, "SQS", endpoint);

        var configuration = new ConfigurationBuilder().AddConfiguration(environment).AddInMemoryCollection(settings).Build();
        using var sqs = AwsClients.OptionsFor(configuration, "SQS").CreateServiceClient<IAmazonSQS>();
        var queues = await QueueUrlsAsync(template, stackName, sqs, cancellationToken);
        var route = DeadLetterRoutes.Find(queue, new ConfigurationBuilder().AddInMemoryCollection(queues).Build());
        if (route is null)
        {
            await output.WriteLineAsync($"error: stack {stackName} has no {queue} queue and DLQ at {endpoint ?? "AWS"}; is it running, and is --stack-name right?");
            return 1;
        }

        var result = await new DeadLetterRedrive(sqs, NullLogger<DeadLetterRedrive>.Instance).RedriveAsync(route, limit, cancellationToken);
        await output.WriteLineAsync($"Moved {result.Moved} message(s) from {result.DeadLetterQueue} back to {result.SourceQueue}"
            + (result.Failed > 0 ? $"; {result.Failed} could not be moved and stay in the DLQ." : "."));
        return result.Failed > 0 ? 1 : 0;
    }

    /// <summary>
    /// The queue variables the functions get (ORDER_EVENTS_QUEUE_URL, ORDER_EVENTS_DLQ_URL, ...), resolved
    /// against the queues that exist for the stack name. Queues are looked up, never created.
    /// </summary>
    public static async Task<Dictionary<string, string?>> QueueUrlsAsync(SamTemplate template, string stackName, IAmazonSQS sqs,
        CancellationToken cancellationToken)
    {
        var context = new StackContext(stackName, LocalCloud.Region, "000000000000", template.ParameterDefaults);
        foreach (var queue in template.ResourcesOfType("AWS::SQS::Queue"))
        {
            if (context.Resolve(queue.Property("QueueName")) is not { } name)
            {
                continue;
            }

            try
            {
                context.SetRef(queue.LogicalId, (await sqs.GetQueueUrlAsync(name, cancellationToken)).QueueUrl);
            }
            catch (QueueDoesNotExistException)
            {
                // Not in this stack: its variables stay unset.
            }
        }

        var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (variable, node) in template.FunctionEnvironment())
        {
            if (variable.EndsWith("_QUEUE_URL", StringComparison.Ordinal) || variable.EndsWith("_DLQ_URL", StringComparison.Ordinal))
            {
                if (context.Resolve(node) is { } url)
                {
                    variables[variable] = url;
                }
            }
        }

        return variables;
    }

    private const string Usage = """
        Usage: dotnet run --project src/OrderProcessing.Local -- redrive <queue> [options]
          <queue>                 order-events, delivery-status or carrier-events: its DLQ's messages go back to it
          --stack-name NAME       the running stack (default orderprocessing-local)
          --sqs-endpoint URL      SQS endpoint (default AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL; none = AWS itself)
          --limit N               move at most N messages (default 1000)
        The local host prints the exact command, with its SQS endpoint, when it starts.
        """;
}
