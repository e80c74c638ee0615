using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.EventSources;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Delivery;

/// <summary>The local host's SQS event source mappings: what they read from template.yaml and how they treat the answers.</summary>
public sealed class SqsEventSourceTests(CloudFixture cloud)
{
    [Fact]
    public void Every_SQS_event_source_of_the_template_is_played_with_its_settings()
    {
        var sources = SqsEventSources.FromTemplate(cloud.Template, Stack(new Dictionary<string, string>()));

        Assert.Equal(
            [("DeliveryProcessor", "OrderEventsQueue"), ("CarrierSimulator", "CarrierEventsQueue"), ("DeliveryStatusApplier", "DeliveryStatusQueue")],
            sources.Select(s => (s.FunctionLogicalId, s.QueueLogicalId)));
        Assert.All(sources, s =>
        {
            Assert.Equal(10, s.BatchSize);
            Assert.Equal(0, s.MaximumBatchingWindowInSeconds);
            Assert.True(s.ReportBatchItemFailures);
            Assert.Equal(50, s.MaximumConcurrency);
        });
    }

    [Fact]
    public void The_carrier_simulator_is_left_out_when_its_parameter_turns_it_off()
    {
        var sources = SqsEventSources.FromTemplate(cloud.Template, Stack(new Dictionary<string, string> { ["EnableCarrierSimulator"] = "false" }));

        Assert.Equal(["DeliveryProcessor", "DeliveryStatusApplier"], sources.Select(s => s.FunctionLogicalId));
    }

    [Fact]
    public async Task Succeeded_messages_are_deleted_and_reported_failures_come_back_after_the_visibility_timeout()
    {
        var stack = await cloud.ProvisionAsync("sqs-source");
        var queue = stack.Queues["CarrierEventsQueue"];
        using var sqs = cloud.CreateSqsClient();
        var function = new ScriptedFunction();
        using var client = new HttpClient(function) { BaseAddress = new Uri("http://function/") };
        await using var source = new SqsQueueSource(
            new SqsSourceSettings { FunctionLogicalId = "CarrierSimulator", QueueLogicalId = "CarrierEventsQueue", BatchSize = 10, ReportBatchItemFailures = true, MaximumBatchingWindowInSeconds = 1 },
            queue, sqs, client, new SqsSourceOptions { VisibilityTimeout = TimeSpan.FromSeconds(3), MaxPollersPerQueue = 1, WaitTimeSeconds = 1 },
            LocalCloud.Region, NullLogger.Instance);
        await sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = queue.Url,
            MessageBody = "keep",
            MessageAttributes = new Dictionary<string, MessageAttributeValue> { ["correlation_id"] = new() { DataType = "String", StringValue = "c-1" } },
        });
        await sqs.SendMessageAsync(queue.Url, "done");

        source.Start();
        await Eventually.HoldsAsync(() => Task.FromResult(function.Bodies("keep").Count >= 2), TimeSpan.FromSeconds(30));

        // First invocation: both messages, in one batch thanks to the batching window, in Lambda's event shape.
        var first = function.Events[0]["Records"]!.AsArray();
        Assert.Equal(["done", "keep"], first.Select(r => r!["body"]!.GetValue<string>()).Order());
        var keep = first.Single(r => r!["body"]!.GetValue<string>() == "keep")!;
        Assert.Equal("aws:sqs", keep["eventSource"]!.GetValue<string>());
        Assert.Equal(queue.Arn, keep["eventSourceARN"]!.GetValue<string>());
        Assert.Equal("1", keep["attributes"]!["ApproximateReceiveCount"]!.GetValue<string>());
        Assert.Equal("c-1", keep["messageAttributes"]!["correlation_id"]!["stringValue"]!.GetValue<string>());
        Assert.Equal("String", keep["messageAttributes"]!["correlation_id"]!["dataType"]!.GetValue<string>());
        // "done" succeeded and was deleted; "keep" was reported failed and was received again.
        Assert.Single(function.Bodies("done"));
        Assert.Equal("2", function.Bodies("keep")[1]["attributes"]!["ApproximateReceiveCount"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_answer_that_is_not_a_batch_response_or_names_a_stranger_fails_the_whole_batch()
    {
        var stack = await cloud.ProvisionAsync("sqs-source");
        var queue = stack.Queues["CarrierEventsQueue"];
        using var sqs = cloud.CreateSqsClient();
        var function = new ScriptedFunction(answers: ["not json", """{"batchItemFailures":[{"itemIdentifier":"someone-else"}]}""", """{"batchItemFailures":[]}"""]);
        using var client = new HttpClient(function) { BaseAddress = new Uri("http://function/") };
        await using var source = new SqsQueueSource(
            new SqsSourceSettings { FunctionLogicalId = "CarrierSimulator", QueueLogicalId = "CarrierEventsQueue", ReportBatchItemFailures = true },
            queue, sqs, client, new SqsSourceOptions { VisibilityTimeout = TimeSpan.FromSeconds(1), MaxPollersPerQueue = 1, WaitTimeSeconds = 1 },
            LocalCloud.Region, NullLogger.Instance);
        await sqs.SendMessageAsync(queue.Url, "only");

        source.Start();
        await Eventually.HoldsAsync(() => Task.FromResult(source.MessagesDeleted == 1), TimeSpan.FromSeconds(30));

        Assert.Equal(["1", "2", "3"], function.Bodies("only").Select(r => r["attributes"]!["ApproximateReceiveCount"]!.GetValue<string>()));
        Assert.Equal(2, source.MessagesFailed);
    }

    private StackContext Stack(IReadOnlyDictionary<string, string> overrides) =>
        new("s", LocalCloud.Region, "000000000000", LocalHost.ParameterValues(cloud.Template, overrides));

    /// <summary>Stands in for the function: records each event, answers from a script (then "keep" fails, everything else succeeds).</summary>
    private sealed class ScriptedFunction(IReadOnlyList<string>? answers = null) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<JsonObject> _events = new();
        private int _calls;

        public IReadOnlyList<JsonObject> Events => [.. _events];

        public List<JsonNode> Bodies(string body) =>
            Events.SelectMany(e => e["Records"]!.AsArray()).Where(r => r!["body"]!.GetValue<string>() == body).Select(r => r!).ToList();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var sqsEvent = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
            _events.Enqueue(sqsEvent);
            var call = Interlocked.Increment(ref _calls) - 1;
            var answer = answers is not null && call < answers.Count
                ? answers[call]
                : new JsonObject
                {
                    ["batchItemFailures"] = new JsonArray([.. sqsEvent["Records"]!.AsArray()
                        .Where(r => r!["body"]!.GetValue<string>() == "keep")
                        .Select(r => (JsonNode)new JsonObject { ["itemIdentifier"] = r!["messageId"]!.GetValue<string>() })]),
                }.ToJsonString();
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer, Encoding.UTF8, "application/json") };
        }
    }
}
