using System.Diagnostics;
using System.Globalization;
using System.Text;
using Amazon.SQS.Model;
using OrderProcessing.Functions.Orders;

namespace OrderProcessing.Tests.Delivery.Bench;

/// <summary>
/// bench/README.md: order placed → DELIVERED on the order through the whole local pipeline with zero carrier
/// delays, next to a raw SQS send → receive on the same emulator in the same run. Explicit: it runs only when
/// asked for (<c>-- --filter-class "*DeliveryLatencyBenchmark" --explicit only</c>), never in CI.
/// </summary>
public sealed class DeliveryLatencyBenchmark(CloudFixture cloud)
{
    private const int Orders = 200;
    private const int OrdersPerSecond = 5;
    private const int RoundTrips = 200;

    [Fact(Explicit = true)]
    public async Task Order_placed_to_delivered_and_raw_SQS_round_trip()
    {
        await using var pipeline = await AppFixture.CreateAsync(cloud, AppOptions.Pipeline);
        for (var i = 0; i < 5; i++)
        {
            var warm = await pipeline.PlaceOrderAsync();
            await pipeline.Data.WaitForOrderAsync(warm.OrderId, o => o.Status == OrderStatus.Delivered);
        }

        // One order at a time: the pipeline's own latency, without queueing behind other orders.
        var alone = new List<Order>();
        for (var i = 0; i < 20; i++)
        {
            var order = await pipeline.PlaceOrderAsync();
            alone.Add(await pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered, TimeSpan.FromMinutes(1)));
        }

        var sendThenReceive = await RawRoundTripsAsync(pipeline, receiverWaiting: false);
        var receiverWaiting = await RawRoundTripsAsync(pipeline, receiverWaiting: true);

        var placed = new List<Task<Order>>();
        var pace = Stopwatch.StartNew();
        for (var i = 0; i < Orders; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / OrdersPerSecond);
            if (due > pace.Elapsed)
            {
                await Task.Delay(due - pace.Elapsed);
            }

            placed.Add(pipeline.PlaceOrderAsync());
        }

        var orders = await Task.WhenAll(placed);
        var delivered = new List<Order>();
        foreach (var order in orders)
        {
            delivered.Add(await pipeline.Data.WaitForOrderAsync(order.OrderId, o => o.Status == OrderStatus.Delivered, TimeSpan.FromMinutes(5)));
        }

        var latencies = delivered.Select(Latency).ToList();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"run {DateTimeOffset.UtcNow:O}, backend {cloud.Backend}, {Environment.ProcessorCount} cores")
            .AppendLine(Line($"order placed -> DELIVERED ({Orders} orders at {OrdersPerSecond}/s)", latencies))
            .AppendLine(Line("order placed -> DELIVERED (20 orders one at a time)", alone.Select(Latency).ToList()));
        foreach (var (segment, values) in await SegmentsAsync(pipeline, delivered))
        {
            report.AppendLine(Line($"  segment at {OrdersPerSecond}/s: {segment}", values));
        }

        var text = report
            .AppendLine(Line($"raw SQS send -> receive, FIFO ({RoundTrips}, receive after send)", sendThenReceive))
            .AppendLine(Line($"raw SQS send -> receive, FIFO ({RoundTrips}, receiver long-polling)", receiverWaiting))
            .AppendLine(CultureInfo.InvariantCulture, $"load average at the end (1/5/15 min): {LoadAverage()}")
            .ToString();
        TestContext.Current.SendDiagnosticMessage(text);
        Directory.CreateDirectory(Path.Combine(Repository.Root, "bench", "results"));
        await File.WriteAllTextAsync(Path.Combine(Repository.Root, "bench", "results", "delivery-latency.txt"), text);
        Assert.Equal(Orders, latencies.Count);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static double Latency(Order order) =>
        (order.History.Single(h => h.Status == OrderStatus.Delivered).At - order.CreatedAt).TotalMilliseconds;

    /// <summary>Where the time goes, from the times the app recorded on the order and its shipment.</summary>
    private static async Task<List<(string Segment, List<double> Values)>> SegmentsAsync(AppFixture pipeline, List<Order> orders)
    {
        var segments = new List<(string, List<double>)>
        {
            ("placed -> shipment CREATED (stream + order-events.fifo)", []),
            ("CREATED -> SHIPPED (carrier-events)", []),
            ("SHIPPED -> IN_TRANSIT (carrier-events)", []),
            ("IN_TRANSIT -> DELIVERED (carrier-events)", []),
            ("shipment DELIVERED -> order DELIVERED (delivery-status-queue.fifo)", []),
        };
        foreach (var order in orders)
        {
            var shipment = (await pipeline.Data.ShipmentAsync(order.OrderId))!;
            var at = shipment.History.Select(h => h.RecordedAt).ToList();
            var points = new[] { order.CreatedAt, at[0], at[1], at[2], at[3], order.History[^1].At };
            for (var i = 0; i < segments.Count; i++)
            {
                segments[i].Item2.Add((points[i + 1] - points[i]).TotalMilliseconds);
            }
        }

        return segments;
    }

    /// <summary>Send one message and receive it, one at a time, on a FIFO queue of its own on the same emulator.</summary>
    private static async Task<List<double>> RawRoundTripsAsync(AppFixture pipeline, bool receiverWaiting)
    {
        var url = (await pipeline.Data.Sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = $"bench-{Guid.NewGuid():N}.fifo",
            Attributes = new Dictionary<string, string> { ["FifoQueue"] = "true" },
        })).QueueUrl;
        var times = new List<double>();
        for (var i = 0; i < RoundTrips; i++)
        {
            var receive = receiverWaiting ? ReceiveAsync(pipeline, url) : null;
            if (receive is not null)
            {
                await Task.Delay(20);
            }

            var clock = Stopwatch.StartNew();
            await pipeline.Data.Sqs.SendMessageAsync(new SendMessageRequest
            {
                QueueUrl = url,
                MessageBody = "ping",
                MessageGroupId = "g",
                MessageDeduplicationId = Guid.NewGuid().ToString("N"),
            });
            var message = await (receive ?? ReceiveAsync(pipeline, url));
            times.Add(clock.Elapsed.TotalMilliseconds);
            await pipeline.Data.Sqs.DeleteMessageAsync(url, message.ReceiptHandle);
        }

        await pipeline.Data.Sqs.DeleteQueueAsync(url);
        return times;
    }

    private static async Task<Message> ReceiveAsync(AppFixture pipeline, string url) =>
        Assert.Single((await pipeline.Data.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, WaitTimeSeconds = 20 })).Messages);

    private static string Line(string what, List<double> values)
    {
        var sorted = values.Order().ToList();
        double At(double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"{what}: p50 {At(0.50):0.0} ms, p95 {At(0.95):0.0} ms, max {sorted[^1]:0.0} ms, mean {values.Average():0.0} ms");
    }
}
