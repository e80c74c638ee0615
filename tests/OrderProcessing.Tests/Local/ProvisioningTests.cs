using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// The local host creates exactly what template.yaml declares. The expectations are read from the
/// template here with plain YAML, independently of the provisioning code under test.
/// </summary>
public sealed class ProvisioningTests(CloudFixture cloud)
{
    private static readonly YamlMappingNode Resources = LoadResources();

    [Fact]
    public async Task Every_table_of_the_template_exists_with_its_keys_indexes_stream_and_ttl()
    {
        var stack = await cloud.ProvisionAsync("prov");
        using var dynamo = cloud.CreateDynamoDbClient();
        var declared = OfType("AWS::DynamoDB::Table").ToList();

        Assert.NotEmpty(declared);
        Assert.Equal(declared.Select(t => t.Key).Order(), stack.Tables.Keys.Order());
        foreach (var (logicalId, properties) in declared)
        {
            var name = stack.Tables[logicalId];
            var expectedSuffix = Scalar(properties["TableName"]).Replace("${AWS::StackName}", stack.StackName, StringComparison.Ordinal);
            Assert.Equal(expectedSuffix, name);

            var table = (await dynamo.DescribeTableAsync(name)).Table;
            Assert.Equal(Keys(properties["KeySchema"]), table.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType}"));

            var expectedIndexes = properties.Children.TryGetValue("GlobalSecondaryIndexes", out var gsis)
                ? ((YamlSequenceNode)gsis).Children.Cast<YamlMappingNode>()
                    .ToDictionary(i => Scalar(i["IndexName"]), i => Keys(i["KeySchema"]))
                : [];
            var actualIndexes = (table.GlobalSecondaryIndexes ?? [])
                .ToDictionary(i => i.IndexName, i => i.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType}").ToList());
            Assert.Equal(expectedIndexes.Keys.Order(), actualIndexes.Keys.Order());
            foreach (var (index, keys) in expectedIndexes)
            {
                Assert.Equal(keys, actualIndexes[index]);
            }

            if (properties.Children.TryGetValue("StreamSpecification", out var stream))
            {
                Assert.True(table.StreamSpecification?.StreamEnabled, $"{logicalId} has a stream");
                Assert.Equal(Scalar(((YamlMappingNode)stream)["StreamViewType"]), table.StreamSpecification!.StreamViewType.Value);
            }
            else
            {
                Assert.False(table.StreamSpecification?.StreamEnabled ?? false, $"{logicalId} has no stream");
            }

            var ttl = (await dynamo.DescribeTimeToLiveAsync(name)).TimeToLiveDescription;
            if (properties.Children.TryGetValue("TimeToLiveSpecification", out var ttlSpec))
            {
                Assert.Equal("ENABLED", ttl.TimeToLiveStatus.Value);
                Assert.Equal(Scalar(((YamlMappingNode)ttlSpec)["AttributeName"]), ttl.AttributeName);
            }
            else
            {
                Assert.NotEqual("ENABLED", ttl.TimeToLiveStatus?.Value);
            }
        }
    }

    [Fact]
    public async Task Every_queue_of_the_template_exists_with_fifo_settings_visibility_and_redrive()
    {
        var stack = await cloud.ProvisionAsync("prov");
        using var sqs = cloud.CreateSqsClient();
        var declared = OfType("AWS::SQS::Queue").ToList();

        Assert.Equal(declared.Select(q => q.Key).Order(), stack.Queues.Keys.Order());
        foreach (var (logicalId, properties) in declared)
        {
            var queue = stack.Queues[logicalId];
            Assert.Equal(Scalar(properties["QueueName"]).Replace("${AWS::StackName}", stack.StackName, StringComparison.Ordinal), queue.Name);
            var attributes = (await sqs.GetQueueAttributesAsync(queue.Url, ["All"])).Attributes;

            var fifo = properties.Children.TryGetValue("FifoQueue", out var f) && Scalar(f) == "true";
            Assert.Equal(fifo, attributes.GetValueOrDefault("FifoQueue") == "true");
            if (properties.Children.TryGetValue("ContentBasedDeduplication", out var dedup))
            {
                Assert.Equal(Scalar(dedup), attributes["ContentBasedDeduplication"]);
            }

            if (properties.Children.TryGetValue("VisibilityTimeout", out var visibility))
            {
                Assert.Equal(Scalar(visibility), attributes["VisibilityTimeout"]);
            }

            if (properties.Children.TryGetValue("RedrivePolicy", out var redrive))
            {
                var policy = (YamlMappingNode)redrive;
                var dlqLogicalId = Scalar(policy["deadLetterTargetArn"]).Split('.')[0];
                using var actual = System.Text.Json.JsonDocument.Parse(attributes["RedrivePolicy"]);
                Assert.Equal(stack.Queues[dlqLogicalId].Arn, actual.RootElement.GetProperty("deadLetterTargetArn").GetString());
                Assert.Equal(Scalar(policy["maxReceiveCount"]), actual.RootElement.GetProperty("maxReceiveCount").ToString());
            }
            else
            {
                Assert.False(attributes.ContainsKey("RedrivePolicy"), $"{logicalId} has no redrive policy");
            }
        }
    }

    [Fact]
    public async Task Provisioning_again_over_existing_resources_changes_nothing()
    {
        var first = await cloud.ProvisionAsync("again");
        var second = await OrderProcessing.Local.LocalHost.ProvisionAsync(cloud.Cloud, cloud.Template, first.StackName);

        Assert.Equal(first.Tables, second.Tables);
        Assert.Equal(first.Queues, second.Queues);
        Assert.Equal(first.Environment, second.Environment);
    }

    [Fact]
    public async Task The_functions_environment_names_the_provisioned_tables_and_queues()
    {
        var stack = await cloud.ProvisionAsync("env");

        Assert.Equal(stack.Tables["OrdersTable"], stack.Environment["ORDERS_TABLE"]);
        Assert.Equal(stack.Queues["OrderEventsQueue"].Url, stack.Environment["ORDER_EVENTS_QUEUE_URL"]);
        Assert.Equal(stack.Queues["DeliveryStatusQueue"].Url, stack.Environment["DELIVERY_STATUS_QUEUE_URL"]);
        Assert.DoesNotContain(stack.Environment.Keys, k => k.StartsWith("AWS_LWA_", StringComparison.Ordinal));
    }

    private static IEnumerable<KeyValuePair<string, YamlMappingNode>> OfType(string type) =>
        Resources.Children
            .Where(r => Scalar(((YamlMappingNode)r.Value)["Type"]) == type)
            .Select(r => KeyValuePair.Create(Scalar(r.Key), (YamlMappingNode)((YamlMappingNode)r.Value)["Properties"]));

    private static List<string> Keys(YamlNode schema) =>
        ((YamlSequenceNode)schema).Children.Cast<YamlMappingNode>()
            .Select(k => $"{Scalar(k["AttributeName"])}:{Scalar(k["KeyType"])}").ToList();

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value!;

    private static YamlMappingNode LoadResources()
    {
        var yaml = new YamlStream();
        using var reader = File.OpenText(Repository.TemplatePath);
        yaml.Load(reader);
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["Resources"];
    }
}
