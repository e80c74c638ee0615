using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Tests.Reliability;

/// <summary>
/// DynamoDB going away under load: callers get an answer they can act on (503, retry later), never a 500, and
/// nothing a caller was told is done gets lost. The app reaches DynamoDB Local through a link the test cuts
/// (<see cref="NetworkCut"/>): connections are refused and reset as in an outage, while the emulator keeps the data it
/// acknowledged, as DynamoDB does.
/// </summary>
public sealed class DynamoDbOutageTests(CloudFixture cloud)
{
    private const int Callers = 6;
    private const int OrdersPerCaller = 10;
    private const int AnswersBeforeOutage = 15;
    private const int InitialStock = 1000;

    /// <summary>
    /// Longer than a good message's five receives last without a back-off (4 × the 5 s visibility timeout), well within
    /// the 75 s they span with it (5 + 10 + 20 + 40).
    /// </summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Figure: 60 orders from 6 concurrent callers, DynamoDB cut off after the 15th answer and for 30 s → 0 × 500, every
    /// other answer 201 or a 503 ProblemDetails with Retry-After; once DynamoDB is back, 100 % of the 201 orders exist,
    /// the stock taken equals what the stored orders hold, and each has its shipment (its OrderCreated went through the
    /// stream and order-events.fifo): an OrderCreated message that failed meanwhile was backed off, not spent into the
    /// DLQ (QueueRetryTests shows the back-off itself).
    /// </summary>
    [Fact]
    public async Task DynamoDB_cut_off_during_a_burst_of_orders_answers_503_with_Retry_After_and_once_back_every_201_order_is_whole()
    {
        await using var link = NetworkCut.To(cloud.Cloud.DynamoDbEndpoint);
        await using var reached = LocalCloud.Attach(link.Endpoint, cloud.Cloud.SqsEndpoint, cloud.Cloud.UsesEmulatorCredentials);
        await using var system = await SystemFixture.StartAsync(cloud, new SystemOptions
        {
            Cloud = reached,
            Parameters = new Dictionary<string, string> { ["EnableCarrierSimulator"] = "false" },
            QueueVisibilityTimeout = TimeSpan.FromSeconds(5),
        });
        var product = await system.Data.AddProductAsync(InitialStock);
        var (_, token) = await system.NewCustomerAsync("outage");
        using var customer = system.Client(token);

        // Once 15 answers are in, the callers go on as the cut starts: their next orders race it, the rest meet it.
        var answers = new ConcurrentQueue<Answer>();
        var enoughAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cutting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var burst = Task.WhenAll(Enumerable.Range(0, Callers).Select(async caller =>
        {
            for (var i = 0; i < OrdersPerCaller; i++)
            {
                answers.Enqueue(await PlaceAsync(customer, product, quantity: 1 + ((caller + i) % 3)));
                if (answers.Count >= AnswersBeforeOutage)
                {
                    enoughAnswers.TrySetResult();
                    await cutting.Task;
                }
            }
        }));
        await enoughAnswers.Task;
        cutting.SetResult();
        await link.CutAsync();
        var down = System.Diagnostics.Stopwatch.StartNew();
        await burst;
        if (Outage - down.Elapsed is { Ticks: > 0 } rest)
        {
            await Task.Delay(rest);
        }

        link.Restore();

        var all = answers.ToList();
        Assert.DoesNotContain(all, a => a.Status == HttpStatusCode.InternalServerError);
        Assert.All(all, a => Assert.Contains(a.Status, new[] { HttpStatusCode.Created, HttpStatusCode.ServiceUnavailable }));
        var unavailable = all.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(unavailable);
        Assert.All(unavailable, a =>
        {
            Assert.Equal("application/problem+json", a.ContentType);
            Assert.True(a.RetryAfter > TimeSpan.Zero, "a 503 without Retry-After");
            using var problem = JsonDocument.Parse(a.Body);
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("https://orderprocessing.dev/problems/service-unavailable", problem.RootElement.GetProperty("type").GetString());
            Assert.True(problem.RootElement.TryGetProperty("correlationId", out _));
        });

        var accepted = all.Where(a => a.Status == HttpStatusCode.Created).ToList();
        Assert.True(accepted.Count >= AnswersBeforeOutage - Callers, $"only {accepted.Count} orders were accepted before the outage");
        foreach (var order in accepted)
        {
            await system.Data.WaitForOrderAsync(order.OrderId!, o => o.Status == Functions.Orders.OrderStatus.PendingShipment);
        }

        // An order whose answer was lost with the connection may exist too: the stock taken is what the stored orders hold.
        var stored = await system.Data.OrdersAsync();
        Assert.Subset(stored.Select(o => o.OrderId).ToHashSet(), accepted.Select(a => a.OrderId!).ToHashSet());
        Assert.Equal(InitialStock - stored.Sum(o => o.Items.Sum(i => i.Quantity)), await system.Data.StockAsync(product));

        List<Shipment> shipments = [];
        await Eventually.HoldsAsync(async () =>
        {
            shipments = await system.Data.ShipmentsAsync();
            return stored.All(o => shipments.Any(s => s.OrderId == o.OrderId));
        }, TimeSpan.FromSeconds(90), () => $"{shipments.Count} shipments for {stored.Count} orders");
        Assert.Equal(stored.Count, shipments.Count);
        Assert.Equal(0, await system.Data.MessagesInAsync("OrderEventsDlq"));
    }

    private sealed record Answer(HttpStatusCode Status, string? ContentType, TimeSpan? RetryAfter, string Body, string? OrderId);

    private static async Task<Answer> PlaceAsync(HttpClient customer, string product, int quantity)
    {
        using var response = await customer.PostAsync(new Uri("/orders", UriKind.Relative),
            new StringContent(TestData.OrderBody([(product, quantity)]), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        string? orderId = null;
        if (response.StatusCode == HttpStatusCode.Created)
        {
            using var order = JsonDocument.Parse(body);
            orderId = order.RootElement.GetProperty("orderId").GetString();
        }

        return new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta, body, orderId);
    }
}
