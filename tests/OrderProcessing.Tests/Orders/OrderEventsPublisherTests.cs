using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Local.EventSources;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Orders;

/// <summary>The outbox: Orders table stream → local event source mapping → POST /events → order-events.fifo.</summary>
public sealed class OrderEventsPublisherTests(AppFixture stack) : IClassFixture<AppFixture>, IAsyncLifetime
{
    private static readonly ConcurrentQueue<Message> _received = new();
    private readonly RecordingHandler _recorder = new();
    private HttpClient _function = null!;
    private StreamEventSources _sources = null!;

    private string QueueUrl => stack.Stack.Queues["OrderEventsQueue"].Url;

    public async ValueTask InitializeAsync()
    {
        _function = stack.CreateDefaultClient(_recorder);
        _sources = await StreamEventSources.StartAsync(stack.Cloud.Template, stack.Cloud.Cloud, stack.Stack, _function,
            stack.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>());
    }

    public async ValueTask DisposeAsync()
    {
        await _sources.DisposeAsync();
        _function.Dispose();
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Every_order_change_reaches_the_fifo_queue_with_group_dedup_id_and_correlation_id()
    {
        var product = await stack.Data.AddProductAsync(stock: 5, price: 3.5m);
        using var client = await stack.CustomerAsync();
        client.DefaultRequestHeaders.Add("X-Correlation-Id", "corr-create");
        using var placed = await PostAsync(client, "/orders", OrderBody([(product, 2)]));
        var order = await ReadAsync<Order>(placed);
        using var cancelRequest = new HttpRequestMessage(HttpMethod.Post, new Uri($"/orders/{order.OrderId}/cancel", UriKind.Relative));
        cancelRequest.Headers.Add("X-Correlation-Id", "corr-cancel");
        client.DefaultRequestHeaders.Remove("X-Correlation-Id");
        using var cancelled = await client.SendAsync(cancelRequest);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);

        var messages = await ReceiveForOrderAsync(order.OrderId, expected: 2);

        Assert.Equal(2, messages.Count);
        var (created, cancel) = (messages[0], messages[1]);
        Assert.All(messages, m => Assert.Equal(order.OrderId, m.Attributes["MessageGroupId"]));
        Assert.Equal($"{order.OrderId}:1", created.Attributes["MessageDeduplicationId"]);
        Assert.Equal($"{order.OrderId}:2", cancel.Attributes["MessageDeduplicationId"]);
        Assert.Equal("corr-create", created.MessageAttributes["correlation_id"].StringValue);
        Assert.Equal("String", created.MessageAttributes["correlation_id"].DataType);
        Assert.Equal("corr-cancel", cancel.MessageAttributes["correlation_id"].StringValue);

        using var createdBody = JsonDocument.Parse(created.Body);
        Assert.Equal("OrderCreated", createdBody.RootElement.GetProperty("type").GetString());
        Assert.Equal("PENDING_SHIPMENT", createdBody.RootElement.GetProperty("status").GetString());
        Assert.Equal(7.0m, createdBody.RootElement.GetProperty("total").GetDecimal());
        Assert.Equal(product, createdBody.RootElement.GetProperty("items")[0].GetProperty("productId").GetString());
        Assert.Equal("SW1Y 4JH", createdBody.RootElement.GetProperty("shippingAddress").GetProperty("postalCode").GetString());
        using var cancelBody = JsonDocument.Parse(cancel.Body);
        Assert.Equal(("OrderCancelled", "CANCELLED", "PENDING_SHIPMENT", 2),
            (cancelBody.RootElement.GetProperty("type").GetString(), cancelBody.RootElement.GetProperty("status").GetString(),
             cancelBody.RootElement.GetProperty("previousStatus").GetString(), cancelBody.RootElement.GetProperty("version").GetInt32()));
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task A_replayed_stream_batch_publishes_nothing_twice()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var client = await stack.CustomerAsync();
        using var placed = await PostAsync(client, "/orders", OrderBody([(product, 1)]));
        var order = await ReadAsync<Order>(placed);
        var batch = await _recorder.WaitForBatchAsync(order.OrderId);

        using var replay = await _function.PostAsync(new Uri("/events", UriKind.Relative), new StringContent(batch, Encoding.UTF8, "application/json"));
        using var replayBody = await BodyAsync(replay);

        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Empty(replayBody.RootElement.GetProperty("batchItemFailures").EnumerateArray());
        var messages = await ReceiveForOrderAsync(order.OrderId, expected: 2, patience: TimeSpan.FromSeconds(4));
        Assert.Single(messages);
    }

    [Fact]
    public async Task A_record_that_cannot_be_published_is_reported_alone_so_only_it_is_retried()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var client = await stack.CustomerAsync();
        using var placed = await PostAsync(client, "/orders", OrderBody([(product, 1)]));
        var order = await ReadAsync<Order>(placed);
        var good = JsonNode.Parse(await _recorder.WaitForBatchAsync(order.OrderId))!["Records"]!.AsArray()
            .First(r => r!["dynamodb"]!["Keys"]!["orderId"]!["S"]!.GetValue<string>() == order.OrderId)!;
        var broken = good.DeepClone();
        broken["dynamodb"]!["SequenceNumber"] = "1";
        broken["dynamodb"]!["NewImage"]!["status"] = new JsonObject { ["S"] = "NOT_A_STATUS" };
        var batch = new JsonObject { ["Records"] = new JsonArray(broken, good.DeepClone()) };

        using var response = await _function.PostAsync(new Uri("/events", UriKind.Relative),
            new StringContent(batch.ToJsonString(), Encoding.UTF8, "application/json"));
        using var body = await BodyAsync(response);

        var failures = body.RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()).ToList();
        Assert.Equal(["1"], failures);
    }

    private async Task<List<Message>> ReceiveForOrderAsync(string orderId, int expected, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(20));
        while (Received(orderId).Count < expected && DateTime.UtcNow < deadline)
        {
            var response = await stack.Data.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = QueueUrl,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            });
            foreach (var message in response.Messages ?? [])
            {
                // Every message is kept here and deleted, so no message group blocks the queue for the others.
                _received.Enqueue(message);
                await stack.Data.Sqs.DeleteMessageAsync(QueueUrl, message.ReceiptHandle);
            }
        }

        return Received(orderId);
    }

    private static List<Message> Received(string orderId) =>
        _received.Where(m => m.Attributes["MessageGroupId"] == orderId).ToList();

    /// <summary>Keeps every stream batch the local event source posted, to replay one.</summary>
    private sealed class RecordingHandler : DelegatingHandler
    {
        private readonly ConcurrentQueue<string> _batches = new();

        public async Task<string> WaitForBatchAsync(string orderId)
        {
            for (var i = 0; i < 200; i++)
            {
                if (_batches.FirstOrDefault(b => b.Contains(orderId, StringComparison.Ordinal)) is { } batch)
                {
                    return batch;
                }

                await Task.Delay(100);
            }

            throw new TimeoutException($"No stream batch with order {orderId} was posted.");
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode && request.RequestUri?.AbsolutePath == "/events")
            {
                _batches.Enqueue(body);
            }

            return response;
        }
    }
}
