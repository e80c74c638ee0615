using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Local.Provisioning;

/// <summary>What a provisioning run created (or found), and the environment the functions get from it.</summary>
public sealed record ProvisionedStack(
    string StackName,
    IReadOnlyDictionary<string, string> Tables,
    IReadOnlyDictionary<string, ProvisionedQueue> Queues,
    IReadOnlyDictionary<string, string> Environment);

/// <summary>A queue by its URL, ARN and name.</summary>
public sealed record ProvisionedQueue(string Url, string Arn, string Name);

/// <summary>
/// Creates every AWS::DynamoDB::Table and AWS::SQS::Queue of template.yaml, with the properties the template
/// gives them, and resolves the functions' environment variables against what it created. template.yaml is
/// the only list of resources; re-running against existing resources changes nothing.
/// </summary>
public sealed class Provisioner(IAmazonDynamoDB dynamo, IAmazonSQS sqs)
{
    /// <summary>Variables that only mean something to the Lambda runtime and its Web Adapter.</summary>
    private static readonly string[] LambdaOnlyPrefixes = ["AWS_LAMBDA_", "AWS_LWA_", "ASPNETCORE_"];

    /// <summary>
    /// Creates the template's tables and queues; the environment is the one <paramref name="function"/> gets
    /// (globals and its own variables), or, when null, the union of every function's.
    /// </summary>
    public async Task<ProvisionedStack> ProvisionAsync(SamTemplate template, StackContext stack, string? function = null,
        CancellationToken cancellationToken = default)
    {
        var tables = new Dictionary<string, string>();
        await Task.WhenAll(template.ResourcesOfType("AWS::DynamoDB::Table").Select(async table =>
        {
            var name = await CreateTableAsync(table, stack, cancellationToken);
            lock (tables)
            {
                tables[table.LogicalId] = name;
            }
        }));
        foreach (var (logicalId, name) in tables)
        {
            stack.SetRef(logicalId, name);
        }

        var queues = new Dictionary<string, ProvisionedQueue>();
        foreach (var queue in InDependencyOrder(template.ResourcesOfType("AWS::SQS::Queue").ToList()))
        {
            var created = await CreateQueueAsync(queue, stack, cancellationToken);
            queues[queue.LogicalId] = created;
            stack.SetRef(queue.LogicalId, created.Url);
            stack.SetAttribute(queue.LogicalId, "Arn", created.Arn);
            stack.SetAttribute(queue.LogicalId, "QueueName", created.Name);
            stack.SetAttribute(queue.LogicalId, "QueueUrl", created.Url);
        }

        var environment = new Dictionary<string, string>();
        foreach (var (name, node) in template.FunctionEnvironment(function))
        {
            if (LambdaOnlyPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
            {
                continue;
            }

            if (stack.Resolve(node) is { } value)
            {
                environment[name] = value;
            }
        }

        return new ProvisionedStack(stack.StackName, tables, queues, environment);
    }

    private async Task<string> CreateTableAsync(TemplateResource table, StackContext stack, CancellationToken cancellationToken)
    {
        var name = stack.Resolve(table.Property("TableName")) ?? $"{stack.StackName}-{table.LogicalId}";
        var request = new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.FindValue(stack.Resolve(table.Property("BillingMode")) ?? "PAY_PER_REQUEST"),
            AttributeDefinitions = Items(table.Property("AttributeDefinitions"))
                .Select(a => new AttributeDefinition(Scalar(a, "AttributeName", stack), ScalarAttributeType.FindValue(Scalar(a, "AttributeType", stack))))
                .ToList(),
            KeySchema = KeySchema(table.Property("KeySchema"), stack),
        };

        var indexes = Items(table.Property("GlobalSecondaryIndexes")).Select(index => new GlobalSecondaryIndex
        {
            IndexName = Scalar(index, "IndexName", stack),
            KeySchema = KeySchema(SamTemplate.Child(index, "KeySchema"), stack),
            Projection = Projection(SamTemplate.Child(index, "Projection"), stack),
        }).ToList();
        if (indexes.Count > 0)
        {
            request.GlobalSecondaryIndexes = indexes;
        }

        if (table.Property("StreamSpecification") is { } stream)
        {
            request.StreamSpecification = new StreamSpecification
            {
                StreamEnabled = true,
                StreamViewType = StreamViewType.FindValue(Scalar(stream, "StreamViewType", stack)),
            };
        }

        if (request.BillingMode == BillingMode.PROVISIONED)
        {
            var throughput = table.Property("ProvisionedThroughput");
            request.ProvisionedThroughput = new ProvisionedThroughput(
                long.Parse(Scalar(throughput, "ReadCapacityUnits", stack), System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(Scalar(throughput, "WriteCapacityUnits", stack), System.Globalization.CultureInfo.InvariantCulture));
        }

        try
        {
            await dynamo.CreateTableAsync(request, cancellationToken);
        }
        catch (ResourceInUseException)
        {
            // Already there: provisioning is idempotent.
        }

        if (table.Property("TimeToLiveSpecification") is { } ttl
            && string.Equals(stack.Resolve(SamTemplate.Child(ttl, "Enabled")), "true", StringComparison.OrdinalIgnoreCase))
        {
            var attribute = Scalar(ttl, "AttributeName", stack);
            var current = await dynamo.DescribeTimeToLiveAsync(name, cancellationToken);
            if (current.TimeToLiveDescription.TimeToLiveStatus != TimeToLiveStatus.ENABLED)
            {
                await dynamo.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
                {
                    TableName = name,
                    TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = attribute, Enabled = true },
                }, cancellationToken);
            }
        }

        return name;
    }

    /// <summary>Queue attributes that SQS's CreateQueue takes, by their template property names.</summary>
    private static readonly string[] QueueAttributes =
    [
        "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "VisibilityTimeout",
        "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize",
    ];

    private async Task<ProvisionedQueue> CreateQueueAsync(TemplateResource queue, StackContext stack, CancellationToken cancellationToken)
    {
        var name = stack.Resolve(queue.Property("QueueName")) ?? $"{stack.StackName}-{queue.LogicalId}";
        var attributes = new Dictionary<string, string>();
        foreach (var attribute in QueueAttributes)
        {
            if (stack.Resolve(queue.Property(attribute)) is { } value)
            {
                attributes[attribute] = value.ToLowerInvariant() is "true" or "false" ? value.ToLowerInvariant() : value;
            }
        }

        if (queue.Property("RedrivePolicy") is { } redrive)
        {
            attributes["RedrivePolicy"] = stack.ToJson(redrive);
        }

        var created = await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = name, Attributes = attributes }, cancellationToken);
        var arn = await sqs.GetQueueAttributesAsync(created.QueueUrl, ["QueueArn"], cancellationToken);
        return new ProvisionedQueue(created.QueueUrl, arn.QueueARN, name);
    }

    /// <summary>Dead-letter queues before the queues that name them in their redrive policy.</summary>
    private static IEnumerable<TemplateResource> InDependencyOrder(List<TemplateResource> queues)
    {
        var done = new HashSet<string>();
        var pending = queues.ToList();
        while (pending.Count > 0)
        {
            var ready = pending.Where(q => DependsOn(q).All(d => done.Contains(d) || queues.All(o => o.LogicalId != d))).ToList();
            if (ready.Count == 0)
            {
                throw new InvalidDataException($"Queues {string.Join(", ", pending.Select(q => q.LogicalId))} refer to each other in a cycle.");
            }

            foreach (var queue in ready)
            {
                done.Add(queue.LogicalId);
                pending.Remove(queue);
                yield return queue;
            }
        }
    }

    private static IEnumerable<string> DependsOn(TemplateResource queue) =>
        queue.Property("RedrivePolicy") is { } redrive
            ? redrive.AllNodes.OfType<YamlScalarNode>()
                .Where(s => StackContext.TagOf(s) == "!GetAtt" || s.Value?.EndsWith(".Arn", StringComparison.Ordinal) == true)
                .Select(s => s.Value!.Split('.')[0])
            : [];

    private static List<KeySchemaElement> KeySchema(YamlNode? node, StackContext stack) =>
        Items(node).Select(k => new KeySchemaElement(Scalar(k, "AttributeName", stack), KeyType.FindValue(Scalar(k, "KeyType", stack)))).ToList();

    private static Projection Projection(YamlNode? node, StackContext stack)
    {
        var projection = new Projection { ProjectionType = ProjectionType.FindValue(stack.Resolve(SamTemplate.Child(node, "ProjectionType")) ?? "ALL") };
        var nonKey = Items(SamTemplate.Child(node, "NonKeyAttributes")).Select(stack.Resolve).OfType<string>().ToList();
        if (nonKey.Count > 0)
        {
            projection.NonKeyAttributes = nonKey;
        }

        return projection;
    }

    private static IEnumerable<YamlNode> Items(YamlNode? node) => node is YamlSequenceNode sequence ? sequence.Children : [];

    private static string Scalar(YamlNode? node, string key, StackContext stack) =>
        stack.Resolve(SamTemplate.Child(node, key))
        ?? throw new InvalidDataException($"template.yaml: {key} is missing or cannot be resolved locally at {node?.Start}.");
}
