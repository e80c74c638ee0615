using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Platform.Idempotency;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Bench;

/// <summary>
/// One level of the order-creation run: the raw write and the orders through HTTP, at one concurrency, with the
/// lowest and highest ratio of the orders' rate to the raw rate that one round measured.
/// </summary>
internal sealed record CreationLevel(int Concurrency, int Rounds, Latencies Raw, Latencies RawWithRecord, Latencies Plain, Latencies Keyed,
    Latencies RawFlat, Spread PlainToRaw, Spread KeyedToRaw, IReadOnlyList<CpuPerRequest> Cpu)
{
    public double RawPerSecond => Raw.PerSecond;

    public double RawWithRecordPerSecond => RawWithRecord.PerSecond;
}

/// <summary>The lowest and the highest of some values.</summary>
internal readonly record struct Spread(double Min, double Max)
{
    public static Spread Of(IEnumerable<double> values) => values.Aggregate(new Spread(double.PositiveInfinity, double.NegativeInfinity),
        (s, v) => new Spread(Math.Min(s.Min, v), Math.Max(s.Max, v)));
}

/// <summary>
/// The CPU time a variant's requests took, per request: the bench process (the callers and, for the orders through
/// HTTP, the local host) and DynamoDB Local's process. Zero when the emulator is not a process of this run.
/// </summary>
internal readonly record struct CpuPerRequest(double BenchMilliseconds, double EmulatorMilliseconds)
{
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"{BenchMilliseconds:0.00} / {EmulatorMilliseconds:0.00}");
}

/// <summary>
/// Throughput and latency of a run of requests. With a fixed number of callers each sending its next request when
/// the last one is answered, the rate is the callers over the mean latency (Little's law), so the means of two
/// variants say where one loses time against the other.
/// </summary>
internal sealed record Latencies(double PerSecond, double Mean, double P50, double P95, double P99)
{
    public static Latencies From(double[] milliseconds, TimeSpan elapsed)
    {
        Array.Sort(milliseconds);
        return new(milliseconds.Length / elapsed.TotalSeconds, milliseconds.Length == 0 ? 0 : milliseconds.Average(),
            Stats.Percentile(milliseconds, 50), Stats.Percentile(milliseconds, 95), Stats.Percentile(milliseconds, 99));
    }

    public string Summary => string.Create(CultureInfo.InvariantCulture, $"{Mean:0.0} / {P50:0.0} / {P95:0.0} / {P99:0.0}");
}

/// <summary>
/// POST /orders through the local host at a given number of concurrent callers, next to the same write sent straight
/// to the same DynamoDB Local with the SDK: the items the app writes for such an order, made by its own
/// <see cref="ProductStore"/> (each line's conditional stock change at the product's revision) and
/// <see cref="OrderStore"/> (the order, priced from the catalogue), alone and with the fourth item an order with an
/// Idempotency-Key writes (the key's record, made by the app's <see cref="IdempotencyStore"/> around a 201 the API
/// answered); and, as the baseline of the runs before 2026-12-02 21:00 UTC, the transaction with a flat order item
/// of 600 bytes and bare stock decrements.
/// </summary>
internal sealed class OrderCreation(HttpClient api, IAmazonDynamoDB dynamo, ProductStore products, OrderStore orders, IdempotencyStore keys,
    IReadOnlyDictionary<string, Product> catalogue, int? emulatorProcessId = null)
{
    private readonly IReadOnlyList<string> productIds = [.. catalogue.Keys.Order(StringComparer.Ordinal)];

    private StoredResponse? _created;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// Each variant <paramref name="count"/> times, in <paramref name="rounds"/> rounds that run a share of every
    /// variant, each round starting with the next variant: drift (DynamoDB Local slowing as its tables grow, the
    /// JVM's collections, other work on the machine) then falls on every variant alike instead of on whichever ran
    /// when it came. A variant's rate is its requests over its summed time; its latencies are all its requests'.
    /// </summary>
    public async Task<CreationLevel> MeasureAsync(int concurrency, int count, int rounds)
    {
        rounds = Math.Clamp(rounds, 1, count);
        Func<int, Task<Run>>[] variants =
        [
            n => RawTransactionsAsync(concurrency, n, withRecord: false),
            n => RawTransactionsAsync(concurrency, n, withRecord: true),
            n => RunOrdersAsync(concurrency, n, withKey: false),
            n => RunOrdersAsync(concurrency, n, withKey: true),
            n => RawTransactionsAsync(concurrency, n, withRecord: false, flat: true),
        ];
        var runs = variants.Select(_ => new List<Run>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            var share = (count / rounds) + (round < count % rounds ? 1 : 0);
            for (var k = 0; k < variants.Length; k++)
            {
                var variant = (round + k) % variants.Length;
                var (bench, emulator) = CpuTimes();
                var run = await variants[variant](share);
                var (benchAfter, emulatorAfter) = CpuTimes();
                runs[variant].Add(run with { BenchCpu = benchAfter - bench, EmulatorCpu = emulatorAfter - emulator });
            }
        }

        static CpuPerRequest Cpu(List<Run> of) => new(of.Sum(r => r.BenchCpu.TotalMilliseconds) / of.Sum(r => r.Requests),
            of.Sum(r => r.EmulatorCpu.TotalMilliseconds) / of.Sum(r => r.Requests));

        static Latencies Combined(List<Run> of) => Latencies.From([.. of.SelectMany(r => r.Milliseconds)], TimeSpan.FromTicks(of.Sum(r => r.Elapsed.Ticks)));
        Spread ToRaw(int variant) => Spread.Of(Enumerable.Range(0, rounds).Select(r => runs[variant][r].PerSecond / runs[0][r].PerSecond));
        return new CreationLevel(concurrency, rounds, Combined(runs[0]), Combined(runs[1]), Combined(runs[2]), Combined(runs[3]), Combined(runs[4]),
            ToRaw(2), ToRaw(3), [.. runs.Select(Cpu)]);
    }

    /// <summary>CPU time so far of this process and of DynamoDB Local's.</summary>
    private (TimeSpan Bench, TimeSpan Emulator) CpuTimes()
    {
        using var self = Process.GetCurrentProcess();
        var bench = self.TotalProcessorTime;
        if (emulatorProcessId is not { } id)
        {
            return (bench, TimeSpan.Zero);
        }

        using var emulator = Process.GetProcessById(id);
        return (bench, emulator.TotalProcessorTime);
    }

    public async Task WarmUpAsync()
    {
        var (a, b) = TwoProducts();
        using (var response = await api.PostAsync(new Uri("/orders", UriKind.Relative), OrderBody(a, b)))
        {
            response.EnsureSuccessStatusCode();
            _created = new StoredResponse((int)response.StatusCode, StoredResponse.JsonContentType, await response.Content.ReadAsStringAsync(),
                response.Headers.Location?.ToString());
        }

        await RunOrdersAsync(4, 100, withKey: true);
        await RawTransactionsAsync(4, 100, withRecord: true);
    }

    /// <summary>A run of one variant: its requests, the time they took together, and each one's latency.</summary>
    private sealed record Run(int Requests, TimeSpan Elapsed, double[] Milliseconds)
    {
        public TimeSpan BenchCpu { get; init; }

        public TimeSpan EmulatorCpu { get; init; }

        public double PerSecond => Requests / Elapsed.TotalSeconds;
    }

    /// <summary>One order for each pair of products, one after the other, so that the API has read every product once.</summary>
    public async Task EveryProductOnceAsync()
    {
        for (var i = 0; i + 1 < productIds.Count; i += 2)
        {
            using var response = await api.PostAsync(new Uri("/orders", UriKind.Relative), OrderBody(productIds[i], productIds[i + 1]));
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    public async Task<Latencies> OrdersAsync(int concurrency, int count, bool withKey)
    {
        var run = await RunOrdersAsync(concurrency, count, withKey);
        return Latencies.From(run.Milliseconds, run.Elapsed);
    }

    private async Task<Run> RunOrdersAsync(int concurrency, int count, bool withKey)
    {
        var latencies = new double[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var (a, b) = TwoProducts();
                using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = OrderBody(a, b) };
                if (withKey)
                {
                    request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await api.SendAsync(request);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
        }));
        return new Run(count, clock.Elapsed, latencies);
    }

    public static StringContent OrderBody(string a, string b) => new(
        $$$"""{"items":[{"productId":"{{{a}}}","quantity":1},{"productId":"{{{b}}}","quantity":2}],"shippingAddress":{"name":"Bench","line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}}""",
        Encoding.UTF8, "application/json");

    /// <summary>Two different products at random: stock spread over the catalogue, as a real one would be.</summary>
    public (string A, string B) TwoProducts()
    {
        var a = Random.Shared.Next(productIds.Count);
        var b = (a + 1 + Random.Shared.Next(productIds.Count - 1)) % productIds.Count;
        return (productIds[a], productIds[b]);
    }

    private async Task<Run> RawTransactionsAsync(int concurrency, int count, bool withRecord, bool flat = false)
    {
        var created = _created ?? throw new InvalidOperationException("WarmUpAsync first: the key's record holds a 201 the API answered.");
        var latencies = new double[count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                var (a, b) = TwoProducts();
                List<TransactWriteItem> items = flat ?
                [
                    Decrement(a, 1),
                    Decrement(b, 2),
                    new TransactWriteItem
                    {
                        Put = new Put
                        {
                            TableName = orders.Table,
                            Item = new Dictionary<string, AttributeValue>
                            {
                                ["orderId"] = new() { S = Guid.CreateVersion7().ToString() },
                                ["owner"] = new() { S = "raw-bench" },
                                ["status"] = new() { S = "RAW" },
                                ["payload"] = new() { S = new string('x', 600) },
                            },
                            ConditionExpression = "attribute_not_exists(orderId)",
                        },
                    },
                ]
                : [products.Reserve(a, new ShardTake(0, 1), catalogue[a].Revision), products.Reserve(b, new ShardTake(0, 2), catalogue[b].Revision),
                    orders.PutNew(Priced(a, b))];
                if (withRecord)
                {
                    var use = IdempotencyStore.Use("POST /orders", "raw-bench", Guid.NewGuid().ToString(), IdempotencyDecision.Hash(a + b));
                    items.Add(keys.FirstUseInTransaction(use, created));
                }

                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = items });
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        return new Run(count, clock.Elapsed, latencies);
    }

    /// <summary>
    /// The order the API would write for one unit of <paramref name="a"/> and two of <paramref name="b"/>: priced from
    /// the catalogue, with a correlation id, a traceparent and its first history entry as a request gives it.
    /// </summary>
    private Order Priced(string a, string b)
    {
        var now = DateTimeOffset.UtcNow;
        var correlationId = Correlation.NewId();
        OrderLine Line(string productId, int quantity) =>
            new(productId, catalogue[productId].Name, quantity, catalogue[productId].Price, catalogue[productId].Price * quantity);
        List<OrderLine> lines = [Line(a, 1), Line(b, 2)];
        return new Order(Guid.CreateVersion7(now).ToString(), OrderStatus.PendingShipment, lines, catalogue[a].Currency, lines.Sum(l => l.LineTotal),
            new ShippingAddress("Bench", "1 Main St", null, "Springfield", null, "12345", "US"), null, now, now, 1)
        {
            Owner = "raw-bench",
            CorrelationId = correlationId,
            TraceParent = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01",
            History = [new StatusChange(OrderStatus.PendingShipment, null, now, OrderPlacement.Source, correlationId)],
        };
    }

    private TransactWriteItem Decrement(string productId, int quantity) => new()
    {
        Update = new Update
        {
            TableName = products.Table,
            Key = ProductStore.Key(productId),
            UpdateExpression = "SET stock = stock - :q",
            ConditionExpression = "attribute_exists(productId) AND stock >= :q",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":q"] = new() { N = quantity.ToString(Invariant) } },
        },
    };
}

internal static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
