using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Bench;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform.Idempotency;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;

// The whole local system measured in one run (see bench/README.md): start-up, order creation against the raw
// DynamoDB Local write, the AWS calls of an order's whole life, order placed → WebSocket DELIVERED against a raw
// SQS round trip, and what a million orders would cost on AWS. Not a test: run it by hand and record the figures.
var invariant = CultureInfo.InvariantCulture;
if (args.FirstOrDefault() == "cold-start")
{
    // bench/cold-start/run.sh: cold-start --runs N --orders N name=published-folder...
    var builds = args.Skip(1).Where(a => a.Contains('=', StringComparison.Ordinal))
        .Select(a => (Name: a[..a.IndexOf('=', StringComparison.Ordinal)], Directory: a[(a.IndexOf('=', StringComparison.Ordinal) + 1)..]))
        .ToList();
    await ColdStart.RunAsync(FindRoot(), builds, Arg("--runs", 20), Arg("--orders", 1000), CancellationToken.None);
    return 0;
}

var ordersPerLevel = Arg("--orders", 600);
var levels = (ArgText("--concurrency") ?? "1,8,32").Split(',').Select(s => int.Parse(s, invariant)).ToArray();
var lifecycleOrders = Arg("--lifecycle-orders", 40);
var roundTrips = Arg("--round-trips", 100);
var rounds = Arg("--rounds", 5);
var sharedCpus = args.Contains("--shared-cpus", StringComparer.Ordinal);

// --only start,creation,calls,flash-sale,lifecycle runs those parts alone (the lifecycle part includes the cost).
string[] parts = ["start", "creation", "calls", "flash-sale", "lifecycle"];
var only = (ArgText("--only") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
if (only.FirstOrDefault(p => !parts.Contains(p, StringComparer.Ordinal)) is { } unknown)
{
    Console.Error.WriteLine($"--only takes a comma-separated list of {string.Join(", ", parts)}; '{unknown}' is none of them.");
    return 2;
}

bool Runs(string part) => only.Length == 0 || only.Contains(part, StringComparer.Ordinal);
const int Products = 200;
var root = FindRoot();
var results = Path.Combine(root, "bench", "results");
Directory.CreateDirectory(results);

// The report goes to standard output; what the hosted app writes (logs, EMF metrics) to a file of its own.
var report = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
var appLog = Path.Combine(Path.GetTempPath(), $"orderprocessing-bench-{Environment.ProcessId}.log");
await using var appOutput = new StreamWriter(appLog) { AutoFlush = true };
Console.SetOut(appOutput);
var markdown = new StringBuilder();
void Say(string line = "")
{
    report.WriteLine(line);
    markdown.AppendLine(line);
}

void Progress(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
using var machine = new Machine();
var quiet = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" };
var startedAt = DateTimeOffset.UtcNow;

// 1. The local host as `scripts/run-local` starts it (emulators, tables and queues from template.yaml, the app),
//    without event sources: order creation is measured on the API alone, as the API function runs on AWS.
Progress("starting the local host (emulators, tables, queues, app)");
var hostClock = Stopwatch.StartNew();
await using var apiHost = await LocalHost.StartAsync(new LocalHostOptions
{
    RepositoryRoot = root,
    Urls = ["http://127.0.0.1:0"],
    WebSocketUrl = "http://127.0.0.1:0",
    StackName = $"bench-{Guid.NewGuid():N}"[..14],
    StartEventSources = false,
    // On a machine busy with other work the JVM of DynamoDB Local can take minutes to answer.
    EmulatorTimeout = TimeSpan.FromMinutes(5),
    Settings = quiet,
}, cancel.Token);
using (var probe = new HttpClient { BaseAddress = apiHost.Urls[0] })
{
    (await probe.GetAsync(new Uri("/health", UriKind.Relative), cancel.Token)).EnsureSuccessStatusCode();
}

var hostStart = hostClock.Elapsed;
var cpus = sharedCpus || apiHost.Cloud.DynamoDbEmulator is not { } dynamoDbLocal
    ? null
    : CpuSplit.Apply(dynamoDbLocal.ProcessId, apiHost.Cloud.Emulators.Where(e => e != dynamoDbLocal).Select(e => e.ProcessId));

// 2. The whole system, as a second stack on the same emulators: event sources, carrier simulator with delays 0.
Progress("starting the system stack (event sources, carrier delays 0)");
await using var system = await LocalHost.StartAsync(new LocalHostOptions
{
    RepositoryRoot = root,
    Cloud = apiHost.Cloud,
    Urls = ["http://127.0.0.1:0"],
    WebSocketUrl = "http://127.0.0.1:0",
    StackName = $"bsys-{Guid.NewGuid():N}"[..14],
    Parameters = new Dictionary<string, string>
    {
        ["CarrierPickupDelaySeconds"] = "0",
        ["CarrierTransitDelaySeconds"] = "0",
        ["CarrierDeliveryDelaySeconds"] = "0",
    },
    Settings = quiet,
}, cancel.Token);

Progress("timing the Functions app process start");
var appStarts = new List<TimeSpan>();
for (var i = 0; i < (Runs("start") ? 3 : 0); i++)
{
    if (await AppStart.FunctionsProcessAsync(apiHost, root, cancel.Token) is { } elapsed)
    {
        appStarts.Add(elapsed);
    }
}

using var dynamo = apiHost.Cloud.CreateDynamoDbClient();
using var sqs = apiHost.Cloud.CreateSqsClient();
var productIds = Enumerable.Range(0, Products).Select(i => $"bench-{i:000}").ToArray();
var seededAt = DateTimeOffset.UtcNow;
var catalogue = productIds.ToDictionary(id => id, id => new Product(id, id, null, 5m, "EUR", 10_000_000, seededAt, seededAt), StringComparer.Ordinal);
foreach (var host in new[] { apiHost, system })
{
    foreach (var product in catalogue.Values)
    {
        await dynamo.PutItemAsync(host.Stack.Tables["ProductsTable"], ProductStore.ToItem(product), cancel.Token);
    }
}

OrderCreation CreationOn(LocalHost host, HttpClient http) => new(http, dynamo, host.App.Services.GetRequiredService<ProductStore>(),
    host.App.Services.GetRequiredService<OrderStore>(), host.App.Services.GetRequiredService<IdempotencyStore>(), catalogue,
    host.Cloud.DynamoDbEmulator?.ProcessId);

// 3. Order creation at each concurrency, next to the raw TransactWriteItems rate.
using var apiHttp = await ClientAsync(apiHost);
var creation = CreationOn(apiHost, apiHttp);
Progress("warming up");
await creation.WarmUpAsync();
if (!Runs("creation"))
{
    // Without the creation runs the API's catalogue memory would be colder than in a whole run: order every product once.
    await creation.EveryProductOnceAsync();
}

var creationLevels = new List<CreationLevel>();
foreach (var concurrency in Runs("creation") ? levels : [])
{
    Progress($"order creation at {concurrency} concurrent clients");
    creationLevels.Add(await creation.MeasureAsync(concurrency, ordersPerLevel, rounds));
}

// 3b. DynamoDB calls per accepted POST /orders, auth included: the API stack has no event sources, so every
//     DynamoDB call counted while the orders run is one the API made for them.
using var apiMeter = new AwsCallMeter(new AwsCallMeter.Endpoints(
    apiHost.Cloud.DynamoDbEndpoint.Authority, apiHost.Cloud.SqsEndpoint.Authority, "-", apiHost.Urls[0].Authority, new Dictionary<string, string>()));
const int CountedOrders = 200;
var callsPerOrder = new Dictionary<bool, IReadOnlyDictionary<string, double>>();
foreach (var withKey in Runs("calls") ? [false, true] : Array.Empty<bool>())
{
    Progress($"DynamoDB calls per POST /orders{(withKey ? " with Idempotency-Key" : "")}");
    apiMeter.Reset();
    apiMeter.Counting = true;
    await creation.OrdersAsync(8, CountedOrders, withKey);
    apiMeter.Counting = false;
    callsPerOrder[withKey] = apiMeter.Snapshot().Where(c => c.Key.StartsWith("DynamoDB ", StringComparison.Ordinal))
        .ToDictionary(c => c.Key["DynamoDB ".Length..], c => (double)c.Value.Requests / CountedOrders, StringComparer.Ordinal);
}

// 3c. A flash sale: one product, its stock over 8 shards, 32 customers buying one unit each.
if (Runs("flash-sale"))
{
    Progress("flash sale: one product over 8 shards, 32 customers");
}

var customers = new List<HttpClient>();
for (var i = 0; i < (Runs("flash-sale") ? 32 : 0); i++)
{
    customers.Add(await ClientAsync(apiHost));
}

using var apiCapacity = new CapacityMeter(apiHost.App.Services.GetRequiredService<IAmazonDynamoDB>());
var flashSales = new List<FlashSaleResult>();
foreach (var shards in Runs("flash-sale") ? [1, 8] : Array.Empty<int>())
{
    flashSales.Add(await FlashSale.RunAsync(apiHost, customers, apiMeter, apiCapacity, shards, ordersPerLevel, cancel.Token));
}

customers.ForEach(c => c.Dispose());

// 4. The whole life of orders, counted at the HTTP layer under every client, and the DELIVERED latency.
LifecycleResult? lifecycle = null;
double[] rawSqs = [];
IReadOnlyList<CostLine> costs = [];
if (Runs("lifecycle"))
{
    var functionsByArn = system.QueueSources!.Sources.ToDictionary(s => s.Queue.Arn, s => s.Settings.FunctionLogicalId, StringComparer.Ordinal);
    foreach (var stream in system.EventSources!.Sources)
    {
        functionsByArn[stream.Arn] = "OrderEventsPublisher";
    }

    using var meter = new AwsCallMeter(new AwsCallMeter.Endpoints(
        apiHost.Cloud.DynamoDbEndpoint.Authority, apiHost.Cloud.SqsEndpoint.Authority, system.WebSockets.CallbackUrl.Authority, system.Urls[0].Authority, functionsByArn));
    using var capacity = new CapacityMeter(system.App.Services.GetRequiredService<IAmazonDynamoDB>());
    using var systemHttp = await ClientAsync(system);
    var token = systemHttp.DefaultRequestHeaders.Authorization!.Parameter!;
    var lifecycleCreation = CreationOn(system, systemHttp);
    Progress("warming up the pipeline");
    await new OrderLifecycle(system, systemHttp, token, lifecycleCreation, meter, capacity).RunAsync(3, cancel.Token);
    Progress($"{lifecycleOrders} orders, each placed → WebSocket DELIVERED");
    lifecycle = await new OrderLifecycle(system, systemHttp, token, lifecycleCreation, meter, capacity).RunAsync(lifecycleOrders, cancel.Token);
    Progress($"{roundTrips} raw SQS round trips");
    rawSqs = await OrderLifecycle.RawSqsRoundTripsAsync(sqs, roundTrips, cancel.Token);
    costs = CostModel.PerMillionOrders(lifecycle);
}

// 5. The report.
Say($"## Run of {startedAt:yyyy-MM-dd HH:mm} UTC");
Say();
Say($"Machine: {Machine.Describe()}; load average (1 min) {machine.LoadDuringRun()}; {cpus ?? "all processes on all CPUs"}. Release build; app logging at Warning.");
Say();
if (only.Length > 0)
{
    Say($"Parts run: {string.Join(", ", only)} (`--only`).");
    Say();
}

Say("### Start-up");
Say();
Say("| what | time to first `GET /health` 200 |");
Say("|---|---:|");
Say(string.Create(invariant, $"| local host in-process: DynamoDB Local + fauxqs started, {apiHost.Stack.Tables.Count} tables and {apiHost.Stack.Queues.Count} queues created, demo data seeded, app started | {hostStart.TotalSeconds:0.00} s |"));
Say(appStarts.Count > 0
    ? string.Create(invariant, $"| Functions app process (`dotnet OrderProcessing.Functions.dll`, a function's environment), {appStarts.Count} starts | {string.Join(" / ", appStarts.Select(t => $"{t.TotalMilliseconds:0} ms"))} |")
    : Runs("start")
        ? "| Functions app process | not measured (OrderProcessing.Functions.runtimeconfig.json not next to the bench) |"
        : "| Functions app process | not run (`--only`) |");
Say();
if (creationLevels.Count > 0)
{
    Say("### Order creation");
    Say();
    Say(string.Create(invariant, $"{ordersPerLevel} orders per level and variant, in {creationLevels[0].Rounds} rounds that each run a share of every variant, the variants' order rotated each round (a rate is the variant's requests over its summed time); two lines each, random products of {Products}; raw = the same TransactWriteItems sent straight to the same DynamoDB Local by the same number of callers, made by the app's ProductStore and OrderStore (each line's conditional stock change at the product's revision, the order priced from the catalogue); raw with a key's record = the same with the fourth item an order with an Idempotency-Key writes (the key's record holding a 201 the API answered, made by the app's IdempotencyStore), the write such an order cannot do without; flat raw = the baseline of runs before 2026-12-02 21:00 UTC, the transaction with bare stock decrements and a flat order item of 600 bytes."));
    Say();
    Say("| clients | raw TransactWriteItems/s | raw with a key's record/s | flat raw/s | orders/s | ratio to raw | to flat raw | orders/s with Idempotency-Key | ratio to raw | to raw with a key's record | to flat raw |");
    Say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var level in creationLevels)
    {
        Say(string.Create(invariant,
            $"| {level.Concurrency} | {level.RawPerSecond:0} | {level.RawWithRecordPerSecond:0} | {level.RawFlat.PerSecond:0} | {level.Plain.PerSecond:0} | {level.Plain.PerSecond / level.RawPerSecond:0.00} | {level.Plain.PerSecond / level.RawFlat.PerSecond:0.00} | {level.Keyed.PerSecond:0} | {level.Keyed.PerSecond / level.RawPerSecond:0.00} | {level.Keyed.PerSecond / level.RawWithRecordPerSecond:0.00} | {level.Keyed.PerSecond / level.RawFlat.PerSecond:0.00} |"));
    }

    Say();
    Say($"Ratio to raw within one round, lowest–highest over the rounds: {string.Join("; ", creationLevels.Select(l => string.Create(invariant,
        $"{l.Concurrency} {(l.Concurrency == 1 ? "client" : "clients")} orders {l.PlainToRaw.Min:0.00}–{l.PlainToRaw.Max:0.00}, with Idempotency-Key {l.KeyedToRaw.Min:0.00}–{l.KeyedToRaw.Max:0.00}")))}.");
    Say();
    Say("Latency of one request, mean / p50 / p95 / p99 ms (a raw one from before its first call to the end of its last; each caller sends its next request when the last is answered, so a variant's rate is its callers over its mean):");
    Say();
    Say("| clients | raw TransactWriteItems | raw with a key's record | POST /orders | with Idempotency-Key | flat raw |");
    Say("|---:|---:|---:|---:|---:|---:|");
    foreach (var level in creationLevels)
    {
        Say($"| {level.Concurrency} | {level.Raw.Summary} | {level.RawWithRecord.Summary} | {level.Plain.Summary} | {level.Keyed.Summary} | {level.RawFlat.Summary} |");
    }

    Say();
    Say("CPU time per request, ms: the bench process (the callers, and for the orders the local host) / DynamoDB Local's JVM:");
    Say();
    Say("| clients | raw TransactWriteItems | raw with a key's record | POST /orders | with Idempotency-Key | flat raw |");
    Say("|---:|---:|---:|---:|---:|---:|");
    foreach (var level in creationLevels)
    {
        Say($"| {level.Concurrency} | {string.Join(" | ", level.Cpu.Select(c => c.Summary))} |");
    }

    await File.WriteAllTextAsync(Path.Combine(results, "throughput.svg"), ThroughputChart.Svg(
        "Order creation through the local host vs raw DynamoDB Local writes",
        levels,
        [
            ("raw TransactWriteItems", "#888888", creationLevels.Select(l => l.RawPerSecond).ToList()),
            ("POST /orders", "#1f77b4", creationLevels.Select(l => l.Plain.PerSecond).ToList()),
            ("with Idempotency-Key", "#ff7f0e", creationLevels.Select(l => l.Keyed.PerSecond).ToList()),
        ]), cancel.Token);
    Say();
    Say("![Order creation throughput against concurrency](results/throughput.svg)");
    Say();
}

if (callsPerOrder.Count > 0)
{
    Say("### DynamoDB calls per accepted POST /orders");
    Say();
    Say(string.Create(invariant, $"{CountedOrders} orders at 8 clients on the API stack (no event sources), every DynamoDB call counted, auth (deny-list and rate limit) included; \"refused\" = a call DynamoDB answered 400 (a failed condition or a cancelled transaction)."));
    Say();
    Say("| variant | DynamoDB calls per order | by operation |");
    Say("|---|---:|---|");
    foreach (var (withKey, calls) in callsPerOrder)
    {
        Say(string.Create(invariant, $"| {(withKey ? "with Idempotency-Key" : "without a key")} | {calls.Values.Sum():0.00} | {string.Join(", ", calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value:0.00}"))} |"));
    }

    Say();
}

if (flashSales.Count > 0)
{
    Say("### Flash sale: one product, 32 customers");
    Say();
    Say(string.Create(invariant, $"{ordersPerLevel} orders of one unit each of the same product by 32 customers (a client and token each) at once, after one warm-up order each. Hottest item's share = the write units of the most-taken stock shard (2 per order it served) over all write units the API consumed in the run, both as AWS bills them (transactions billed from their items, every other call as DynamoDB Local reports it)."));
    Say();
    Say("| stock shards | orders/s | TransactWriteItems refused (TransactionConflict retries) | orders per shard | hottest item's share of write units | goal 1.5/N |");
    Say("|---:|---:|---:|---|---:|---:|");
    foreach (var sale in flashSales)
    {
        Say(string.Create(invariant, $"| {sale.Shards} | {sale.PerSecond:0} | {sale.RefusedTransactions} | {string.Join(" / ", sale.TakenByShard)} | {sale.HottestShare:0.000} | {1.5 / sale.Shards:0.000} |"));
    }

    Say();
}

if (lifecycle is not null)
{
    Say("### Order placed → WebSocket DELIVERED");
    Say();
    Say(string.Create(invariant, $"{lifecycle.Orders} orders one at a time, each from just before `POST /orders` to its `DELIVERED` frame on a WebSocket held open through the local WebSocket gateway (carrier delays 0); raw = send → receive → delete on a FIFO queue of its own on the same fauxqs, {roundTrips} times."));
    Say();
    Say("| what | p50 | p95 | p99 | max |");
    Say("|---|---:|---:|---:|---:|");
    Say(LatencyRow("order placed → WebSocket DELIVERED", lifecycle.PlacedToDelivered));
    Say(LatencyRow("raw SQS send → receive (FIFO)", rawSqs));
    Say();
    Say($"Frames received per order: {string.Join(", ", lifecycle.FramesByStatus.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => string.Create(invariant, $"{f.Key} {(double)f.Value / lifecycle.Orders:0.##}")))}.");
    Say();
    Say("### AWS calls per accepted order");
    Say();
    Say("Counted over the orders' whole life (API, stream publisher, delivery processor, carrier simulator, status updater, notifications) at the HTTP layer under every client in the process. Lambda rows are invocations (one `POST /events` by a local event source mapping or the WebSocket gateway); their time is the summed invocation time.");
    Say();
    Say("| service | call | per order | ms per call |");
    Say("|---|---|---:|---:|");
    foreach (var (name, count) in lifecycle.PerRun.Calls.OrderBy(c => c.Key, StringComparer.Ordinal))
    {
        var space = name.StartsWith("DynamoDB Streams", StringComparison.Ordinal) ? "DynamoDB Streams".Length
            : name.StartsWith("HTTP API", StringComparison.Ordinal) ? "HTTP API".Length
            : name.IndexOf(' ', StringComparison.Ordinal);
        Say(string.Create(invariant, $"| {name[..space]} | {name[(space + 1)..]} | {(double)count.Requests / lifecycle.Orders:0.00} | {count.Time.TotalMilliseconds / count.Requests:0.0} |"));
    }

    Say();
    string Short(string table) => table.Replace(system.Stack.StackName + "-", "", StringComparison.Ordinal);
    Say(string.Create(invariant, $"DynamoDB capacity per order (ReturnConsumedCapacity on every call of the app): {lifecycle.PerRun.ReadUnits / lifecycle.Orders:0.0} RRU; {lifecycle.PerRun.WriteUnits / lifecycle.Orders:0.0} WRU as DynamoDB Local reports them, {lifecycle.PerRun.BilledWriteUnits / lifecycle.Orders:0.0} as AWS bills them (TransactWriteItems billed from their items and indexes, see bench/README.md; every other call as DynamoDB Local reports it)."));
    Say();
    Say("| table | WRU per order, as DynamoDB Local reports | WRU per order, as AWS bills | RRU per order |");
    Say("|---|---:|---:|---:|");
    foreach (var (table, units) in lifecycle.PerRun.UnitsByTable.OrderByDescending(t => t.Value.BilledWrite).ThenBy(t => t.Key, StringComparer.Ordinal))
    {
        Say(string.Create(invariant, $"| {Short(table)} | {units.Write / lifecycle.Orders:0.0} | {units.BilledWrite / lifecycle.Orders:0.0} | {units.Read / lifecycle.Orders:0.0} |"));
    }

    Say(string.Create(invariant, $"| **total** | **{lifecycle.PerRun.WriteUnits / lifecycle.Orders:0.0}** | **{lifecycle.PerRun.BilledWriteUnits / lifecycle.Orders:0.0}** | **{lifecycle.PerRun.ReadUnits / lifecycle.Orders:0.0}** |"));
    Say();
    Say(string.Create(invariant, $"The WebSocket connection itself ($connect + $disconnect, once per connection): {string.Join(", ", lifecycle.Connection.Calls.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value.Requests}"))}; {lifecycle.Connection.WriteUnits:0.0} WRU as DynamoDB Local reports them, {lifecycle.Connection.BilledWriteUnits:0.0} as AWS bills them; {lifecycle.Connection.ReadUnits:0.0} RRU."));
    Say();
    Say($"### AWS cost per million orders ({Prices.Region}, list prices of {Prices.AsOf})");
    Say();
    Say("| service | unit | units per order | price | $ per million orders |");
    Say("|---|---|---:|---|---:|");
    foreach (var line in costs)
    {
        Say(string.Create(invariant, $"| {line.Service} | {line.Unit} | {line.UnitsPerOrder:0.###} | {line.Price} | {line.DollarsPerMillionOrders:0.00} |"));
    }

    Say(string.Create(invariant, $"| **total** | | | | **{costs.Sum(c => c.DollarsPerMillionOrders):0.00}** |"));
    Say();
    var reported = CostModel.ReportedWriteUnitsPerOrder(lifecycle);
    var billed = CostModel.BilledWriteUnitsPerOrder(lifecycle);
    Say(string.Create(invariant, $"With the write units as DynamoDB Local reports them ({reported:0.0} per order instead of {billed:0.0}) DynamoDB writes would come to ${reported * Prices.DynamoDbPerMillionWriteUnits:0.00} per million orders instead of ${billed * Prices.DynamoDbPerMillionWriteUnits:0.00}, and the total to ${costs.Sum(c => c.DollarsPerMillionOrders) + ((reported - billed) * Prices.DynamoDbPerMillionWriteUnits):0.00} ({(reported - billed) * Prices.DynamoDbPerMillionWriteUnits:+0.00;-0.00;0.00})."));
}

// A run of some parts leaves the whole run's report (and chart) alone.
var reportFile = Path.Combine(results, only.Length == 0 ? "latest.md" : $"latest-{string.Join("-", only)}.md");
await File.WriteAllTextAsync(reportFile, markdown.ToString(), cancel.Token);
Progress($"written to {reportFile}{(creationLevels.Count > 0 ? " and throughput.svg" : "")}; the app's own output is in {appLog}");
return 0;

string LatencyRow(string what, double[] sorted) => string.Create(invariant,
    $"| {what} | {Stats.Percentile(sorted, 50):0.0} ms | {Stats.Percentile(sorted, 95):0.0} ms | {Stats.Percentile(sorted, 99):0.0} ms | {sorted[^1]:0.0} ms |");

// A client of its own with the highest rate limit a client may have (1,000,000 per minute), far above the bench's rate.
async Task<HttpClient> ClientAsync(LocalHost host)
{
    var registry = host.App.Services.GetRequiredService<ClientRegistry>();
    var clientId = $"bench-{Guid.NewGuid():N}";
    var (_, secret) = await registry.RegisterAsync(new ClientRegistration("bench", Scopes.Customer, new RateLimit(1_000_000, 60)), clientId)
        ?? throw new InvalidOperationException("The bench client exists already.");
    var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = host.Urls[0], Timeout = TimeSpan.FromSeconds(60) };
    using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
    {
        Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
    };
    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    var token = response.IsSuccessStatusCode
        ? JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!
        : throw new InvalidOperationException($"POST /oauth/token answered {(int)response.StatusCode}: {body}");
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    return http;
}

int Arg(string name, int fallback) => ArgText(name) is { } value ? int.Parse(value, invariant) : fallback;

string? ArgText(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "template.yaml")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("Run from inside the repository.");
}
