using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using YamlDotNet.RepresentationModel;

namespace OrderProcessing.Tests.Delivery;

/// <summary>What the delivery functions read and write, seen by posting Lambda's SQS events to /events by hand.</summary>
public sealed class DeliveryStatusQueueTests(CloudFixture cloud)
{
    [Fact]
    public async Task Delivery_status_changes_go_to_delivery_status_queue_fifo_and_never_to_order_updates()
    {
        var queueNames = cloud.Template.ResourcesOfType("AWS::SQS::Queue")
            .Select(q => (q.Property("QueueName") as YamlScalarNode)?.Value ?? "").ToList();
        Assert.DoesNotContain(queueNames, n => n.Contains("order-updates", StringComparison.Ordinal));
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false, CarrierSimulator = false });
        var statusQueue = pipeline.Data.Queue("DeliveryStatusQueue");
        Assert.Equal($"{pipeline.Stack.StackName}-delivery-status-queue.fifo", statusQueue.Name);
        Assert.Equal(statusQueue.Url, pipeline.Stack.Environment["DELIVERY_STATUS_QUEUE_URL"]);
        var order = await pipeline.PlaceOrderAsync("corr-queue-name");

        // The new shipment (CREATED) moves no order: its consumer is sent nothing for it.
        var answer = await PostOrderEventsAsync(pipeline, await OrderCreatedAsync(pipeline, order.OrderId));

        Assert.Empty(answer);
        Assert.Empty(await ReceiveAsync(pipeline, statusQueue.Url));
        var shipmentId = ShipmentIds.For(order.OrderId);
        var created = (await pipeline.Data.ShipmentAsync(order.OrderId))!;
        await pipeline.Services.GetRequiredService<ShipmentTransitions>()
            .ApplyAsync(created, DeliveryStatus.Shipped, DateTimeOffset.UtcNow, DeliverySources.CarrierSimulator, null, CancellationToken.None);

        var message = Assert.Single(await ReceiveAsync(pipeline, statusQueue.Url));
        Assert.Equal(order.OrderId, message.Attributes["MessageGroupId"]);
        Assert.Equal($"{shipmentId}:SHIPPED", message.Attributes["MessageDeduplicationId"]);
        Assert.Equal("corr-queue-name", message.MessageAttributes["correlation_id"].StringValue);
        Assert.Equal("DeliveryStatusChanged", message.MessageAttributes["event_type"].StringValue);
        using var body = JsonDocument.Parse(message.Body);
        Assert.Equal(order.OrderId, body.RootElement.GetProperty("orderId").GetString());
        Assert.Equal(shipmentId, body.RootElement.GetProperty("shipmentId").GetString());
        Assert.Equal("SHIPPED", body.RootElement.GetProperty("deliveryStatus").GetString());
        Assert.Equal($"{shipmentId}:SHIPPED", body.RootElement.GetProperty("eventId").GetString());
        Assert.Equal(DeliverySources.CarrierSimulator, body.RootElement.GetProperty("source").GetString());
        Assert.True(body.RootElement.TryGetProperty("occurredAt", out _));
    }

    private static async Task<List<Message>> ReceiveAsync(AppFixture pipeline, string queueUrl) =>
        (await pipeline.Data.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = queueUrl,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = 1,
            MessageSystemAttributeNames = ["All"],
            MessageAttributeNames = ["All"],
        })).Messages ?? [];

    [Fact]
    public async Task A_status_queue_url_naming_another_queue_is_refused_and_the_message_fails()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false, CarrierSimulator = false });
        var wrong = pipeline.Data.Queue("DeliveryStatusQueue").Url.Replace("delivery-status-queue.fifo", "order-updates-queue.fifo", StringComparison.Ordinal);
        await using var misconfigured = await AppFixture.CreateAsync(cloud, pipeline.Stack, new Dictionary<string, string?> { ["DELIVERY_STATUS_QUEUE_URL"] = wrong });
        var order = await pipeline.PlaceOrderAsync();
        var created = await OrderCreatedAsync(pipeline, order.OrderId);

        using var client = misconfigured.CreateClient();
        var answer = await PostAsync(client, SqsEvent(pipeline.Data.Queue("OrderEventsQueue").Arn, [("m-1", order.OrderId, created)]));

        Assert.Equal(["m-1"], answer);
        Assert.Equal(0, await pipeline.Data.MessagesInAsync("DeliveryStatusQueue"));
    }

    [Fact]
    public async Task After_a_failed_message_the_rest_of_its_group_in_the_batch_fails_too_and_other_groups_go_on()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false, CarrierSimulator = false });
        var a = await pipeline.PlaceOrderAsync();
        var b = await pipeline.PlaceOrderAsync();
        using var client = pipeline.CreateClient();

        var answer = await PostAsync(client, SqsEvent(pipeline.Data.Queue("DeliveryStatusQueue").Arn,
        [
            ("a-1", a.OrderId, "not a delivery status change"),
            ("a-2", a.OrderId, TestData.StatusChange(a.OrderId, DeliveryStatus.Shipped)),
            ("b-1", b.OrderId, TestData.StatusChange(b.OrderId, DeliveryStatus.Shipped)),
            ("b-2", b.OrderId, TestData.StatusChange(b.OrderId, DeliveryStatus.Delivered)),
        ]));

        Assert.Equal(["a-1", "a-2"], answer);
        Assert.Equal(OrderStatus.PendingShipment, (await pipeline.Data.OrderAsync(a.OrderId))!.Status);
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Shipped, OrderStatus.Delivered],
            (await pipeline.Data.OrderAsync(b.OrderId))!.History.Select(h => h.Status));
    }

    [Fact]
    public async Task A_status_for_an_order_that_does_not_exist_is_reported_failed_not_dropped()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with { EventSources = false, CarrierSimulator = false });
        using var client = pipeline.CreateClient();
        var missing = Guid.CreateVersion7().ToString();

        var answer = await PostAsync(client, SqsEvent(pipeline.Data.Queue("DeliveryStatusQueue").Arn,
            [("x-1", missing, TestData.StatusChange(missing, DeliveryStatus.Shipped))]));

        Assert.Equal(["x-1"], answer);
        Assert.Contains(pipeline.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error
                                                     && e.Message.Contains($"Order {missing}", StringComparison.Ordinal));
    }

    /// <summary>The OrderCreated event the Orders stream publishes for a stored order.</summary>
    private static async Task<string> OrderCreatedAsync(AppFixture pipeline, string orderId) =>
        JsonSerializer.Serialize(OrderEvent.For(null, (await pipeline.Data.OrderAsync(orderId))!)!, OrdersJson.Default.OrderEvent);

    private static async Task<List<string>> PostOrderEventsAsync(AppFixture pipeline, string orderCreated)
    {
        using var client = pipeline.CreateClient();
        var orderId = JsonNode.Parse(orderCreated)!["orderId"]!.GetValue<string>();
        return await PostAsync(client, SqsEvent(pipeline.Data.Queue("OrderEventsQueue").Arn, [("m-1", orderId, orderCreated)]));
    }

    /// <summary>An SQS event as Lambda delivers it for a FIFO queue; the correlation id attribute is the order's.</summary>
    private static string SqsEvent(string queueArn, IEnumerable<(string MessageId, string GroupId, string Body)> messages) =>
        new JsonObject
        {
            ["Records"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
            {
                ["messageId"] = m.MessageId,
                ["receiptHandle"] = $"handle-{m.MessageId}",
                ["body"] = m.Body,
                ["attributes"] = new JsonObject { ["ApproximateReceiveCount"] = "1", ["MessageGroupId"] = m.GroupId, ["MessageDeduplicationId"] = m.MessageId },
                ["messageAttributes"] = new JsonObject
                {
                    ["correlation_id"] = new JsonObject { ["stringValue"] = "corr-queue-name", ["dataType"] = "String" },
                },
                ["eventSource"] = "aws:sqs",
                ["eventSourceARN"] = queueArn,
                ["awsRegion"] = "us-east-1",
            })]),
        }.ToJsonString();

    private static async Task<List<string>> PostAsync(HttpClient client, string sqsEvent)
    {
        using var response = await client.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(sqsEvent, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        return body!["batchItemFailures"]!.AsArray().Select(f => f!["itemIdentifier"]!.GetValue<string>()).ToList();
    }
}
