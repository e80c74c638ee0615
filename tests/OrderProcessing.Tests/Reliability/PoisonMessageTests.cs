using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// A message no consumer can process must end in its queue's DLQ, hold up nothing but its own message group, and
/// be the only thing that does not get processed.
/// </summary>
public sealed class PoisonMessageTests(CloudFixture cloud)
{
    private const int MaxReceiveCount = 5; // every working queue's redrive policy in template.yaml

    /// <summary>Queue, its DLQ, and the poison sent to it: a body that is not the queue's message, or one that refers to nothing.</summary>
    private static readonly (string Queue, string Dlq, string[] Bodies, bool Fifo)[] Queues =
    [
        ("OrderEventsQueue", "OrderEventsDlq", ["{\"type\":\"OrderCreated\",\"orderId\":", "[1,2,3]"], true),
        ("DeliveryStatusQueue", "DeliveryStatusDlq",
            ["not a delivery status change", TestData.StatusChange(Guid.CreateVersion7().ToString(), Functions.Delivery.DeliveryStatus.Shipped)], true),
        ("CarrierEventsQueue", "CarrierEventsDlq", ["{\"shipmentId\":", "{\"shipmentId\":\"shp-missing\",\"orderId\":\"missing\",\"status\":\"SHIPPED\"}"], false),
    ];

    /// <summary>
    /// Figure: per queue (order-events.fifo, delivery-status-queue.fifo, carrier-events), 2 poison messages each
    /// received exactly maxReceiveCount (5) times and then found in the DLQ, while 3 orders are delivered meanwhile;
    /// messages in = processed + in the DLQ, by message id, and the queue ends empty.
    /// </summary>
    [Fact]
    public async Task Poison_messages_on_every_queue_reach_the_DLQ_after_max_receive_count_and_every_other_message_is_processed()
    {
        var ledger = new DeliveryLedger();
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline with
        {
            VisibilityTimeout = TimeSpan.FromSeconds(2),
            EventDelivery = ledger.Handler,
        });
        var poison = new Dictionary<string, (string Queue, string CorrelationId)>();
        foreach (var (queue, _, bodies, fifo) in Queues)
        {
            foreach (var body in bodies)
            {
                var correlationId = $"poison-{Guid.NewGuid():N}";
                var sent = await pipeline.Data.Sqs.SendMessageAsync(new SendMessageRequest
                {
                    QueueUrl = pipeline.Data.Queue(queue).Url,
                    MessageBody = body,
                    MessageGroupId = fifo ? $"poison-{Guid.NewGuid():N}" : null,
                    MessageDeduplicationId = fifo ? Guid.NewGuid().ToString("N") : null,
                    MessageAttributes = new Dictionary<string, MessageAttributeValue>
                    {
                        ["correlation_id"] = new() { DataType = "String", StringValue = correlationId },
                    },
                });
                poison[sent.MessageId] = (queue, correlationId);
            }
        }

        var placed = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => pipeline.PlaceOrderAsync()));
        foreach (var order in placed)
        {
            await pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered, TimeSpan.FromSeconds(60));
        }

        await Eventually.HoldsAsync(async () =>
        {
            var left = 0;
            foreach (var (queue, dlq, bodies, _) in Queues)
            {
                left += await pipeline.Data.MessagesInAsync(queue) + bodies.Length - await pipeline.Data.VisibleMessagesAsync(dlq);
            }

            return left == 0;
        }, TimeSpan.FromSeconds(90), () => "the poison messages are not all in their DLQs yet");

        foreach (var (queue, dlq, bodies, _) in Queues)
        {
            var arn = pipeline.Data.Queue(queue).Arn;
            var received = ledger.Received(arn);
            var processed = ledger.Processed(arn);
            var dead = (await pipeline.Data.PeekAsync(dlq)).ToList();
            var deadIds = dead.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);

            Assert.Equal(bodies.Length, dead.Count);
            Assert.Equal(poison.Where(p => p.Value.Queue == queue).Select(p => p.Key).Order(), deadIds.Order());
            Assert.Equal(bodies.Order(), dead.Select(m => m.Body).Order());
            Assert.Empty(processed.Intersect(deadIds));
            Assert.Equal(received.Count, processed.Count + deadIds.Count);
            Assert.Equal(received.Order(), processed.Concat(deadIds).Order());
            Assert.True(processed.Count >= placed.Length, $"{queue}: {processed.Count} message(s) processed");
            Assert.Equal(0, await pipeline.Data.MessagesInAsync(queue));
            foreach (var id in deadIds)
            {
                Assert.Equal(MaxReceiveCount, ledger.Deliveries(id));
                var failures = pipeline.Logs.Entries.Count(e => e.Level == LogLevel.Error
                                                                && Equals(e.Scope.GetValueOrDefault("correlation_id"), poison[id].CorrelationId)
                                                                && e.Message.Contains("cannot be processed", StringComparison.Ordinal));
                Assert.Equal(MaxReceiveCount, failures);
                Assert.Equal(poison[id].CorrelationId, dead.Single(m => m.MessageId == id).MessageAttributes["correlation_id"].StringValue);
            }
        }
    }

    /// <summary>Which SQS messages reached the app, how often, and which it answered as processed.</summary>
    private sealed class DeliveryLedger
    {
        private readonly ConcurrentDictionary<string, string> _sourceOf = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, int> _deliveries = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _processed = new(StringComparer.Ordinal);

        public HashSet<string> Received(string queueArn) => _sourceOf.Where(m => m.Value == queueArn).Select(m => m.Key).ToHashSet(StringComparer.Ordinal);

        public HashSet<string> Processed(string queueArn) => Received(queueArn).Where(_processed.ContainsKey).ToHashSet(StringComparer.Ordinal);

        public int Deliveries(string messageId) => _deliveries.GetValueOrDefault(messageId);

        public DelegatingHandler Handler() => new Recorder(this);

        private sealed class Recorder(DeliveryLedger ledger) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var body = await request.Content!.ReadAsStringAsync(cancellationToken);
                var messages = (JsonNode.Parse(body)?["Records"]?.AsArray() ?? [])
                    .Where(r => r?["eventSource"]?.GetValue<string>() == "aws:sqs")
                    .Select(r => (Id: r!["messageId"]!.GetValue<string>(), Source: r["eventSourceARN"]!.GetValue<string>()))
                    .ToList();
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                var response = await base.SendAsync(request, cancellationToken);
                var answer = await response.Content.ReadAsStringAsync(cancellationToken);
                var failed = response.IsSuccessStatusCode
                    ? (JsonNode.Parse(answer)?["batchItemFailures"]?.AsArray() ?? []).Select(f => f?["itemIdentifier"]?.GetValue<string>()).ToHashSet()
                    : messages.Select(m => (string?)m.Id).ToHashSet();
                foreach (var (id, source) in messages)
                {
                    ledger._sourceOf[id] = source;
                    ledger._deliveries.AddOrUpdate(id, 1, (_, n) => n + 1);
                    if (!failed.Contains(id))
                    {
                        ledger._processed[id] = true;
                    }
                }

                return response;
            }
        }
    }
}
