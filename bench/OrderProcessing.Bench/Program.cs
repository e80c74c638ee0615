using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;

// Order creations per second through the local host (HTTP → app → DynamoDB Local), next to the raw
// TransactWriteItems rate of the same DynamoDB Local in the same run, and the DynamoDB calls each accepted
// order cost. Not a test: run it by hand (see bench/README.md) and record the figures there.
var invariant = CultureInfo.InvariantCulture;
var ordersPerLevel = Arg("--orders", 1500);
var levels = (ArgText("--concurrency") ?? "1,4,16,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
const int Products = 200;

var root = FindRoot();
await using var host = await LocalHost.StartAsync(new LocalHostOptions
{
    RepositoryRoot = root,
    Urls = ["http://127.0.0.1:0"],
    StackName = $"bench-{Guid.NewGuid():N}"[..14],
    // Warnings only: request logging at Information would be part of what is measured.
    Settings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" },
});
var api = host.Urls[0];
var productsTable = host.Stack.Tables["ProductsTable"];
var ordersTable = host.Stack.Tables["OrdersTable"];
var settings = new ConfigurationBuilder().AddInMemoryCollection(host.Cloud.ClientSettings).Build();
using var dynamo = AwsClients.OptionsFor(settings, "DYNAMODB").CreateServiceClient<IAmazonDynamoDB>();

// Stock spread over many products, as a real catalogue would be: one hot product item is its own limit.
var productIds = Enumerable.Range(0, Products).Select(i => $"bench-{i:000}").ToArray();
foreach (var id in productIds)
{
    var now = DateTimeOffset.UtcNow;
    await dynamo.PutItemAsync(productsTable, ProductStore.ToItem(new Product(id, id, null, 5m, "EUR", 10_000_000, now, now)));
}

// Every DynamoDB request the app makes, counted at the SDK client the app itself uses, by operation.
var appDynamo = (AmazonServiceClient)host.App.Services.GetRequiredService<IAmazonDynamoDB>();
long appCalls = 0;
var byOperation = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
appDynamo.BeforeRequestEvent += (_, e) =>
{
    Interlocked.Increment(ref appCalls);
    var operation = (e as WebServiceRequestEventArgs)?.Request?.GetType().Name.Replace("Request", "", StringComparison.Ordinal) ?? "?";
    byOperation.AddOrUpdate(operation, 1, (_, n) => n + 1);
};

// A client of its own with a rate limit far above the bench's rate (the demo client's 100 per minute would throttle it).
var registry = host.App.Services.GetRequiredService<ClientRegistry>();
var benchClient = $"bench-{Guid.NewGuid():N}";
var (_, benchSecret) = await registry.RegisterAsync(new ClientRegistration("bench", Scopes.Customer, new RateLimit(10_000_000, 60)), benchClient)
    ?? throw new InvalidOperationException("The bench client exists already.");

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(http, benchClient, benchSecret));

Console.WriteLine($"OrderProcessing bench: {ordersPerLevel} orders per level, {Environment.ProcessorCount} cores, DynamoDB Local {host.Cloud.DynamoDbEndpoint}");
Console.WriteLine();
Console.WriteLine("| concurrency | raw TransactWriteItems/s | orders/s (no key) | p50 / p99 ms | DynamoDB calls per order | orders/s (Idempotency-Key) | p50 / p99 ms | DynamoDB calls per order |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
await WarmUpAsync();
foreach (var concurrency in levels)
{
    var raw = await RawTransactionsAsync(concurrency);
    var plain = await OrdersAsync(concurrency, withKey: false);
    var keyed = await OrdersAsync(concurrency, withKey: true);
    Console.WriteLine(string.Create(invariant,
        $"| {concurrency} | {raw:0} | {plain.Rate:0} | {plain.P50:0.0} / {plain.P99:0.0} | {plain.CallsPerOrder:0.00} | {keyed.Rate:0} | {keyed.P50:0.0} / {keyed.P99:0.0} | {keyed.CallsPerOrder:0.00} |"));
}

return 0;

async Task WarmUpAsync()
{
    await OrdersAsync(4, withKey: true, count: 200);
    await RawTransactionsAsync(4, count: 200);
}

async Task<(double Rate, double P50, double P99, double CallsPerOrder)> OrdersAsync(int concurrency, bool withKey, int? count = null)
{
    var total = count ?? ordersPerLevel;
    var latencies = new double[total];
    var next = -1;
    var accepted = 0;
    byOperation.Clear();
    var callsBefore = Interlocked.Read(ref appCalls);
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < total)
        {
            var a = productIds[Random.Shared.Next(Products)];
            var b = productIds[(Array.IndexOf(productIds, a) + 1 + Random.Shared.Next(Products - 1)) % Products];
            using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
            {
                Content = new StringContent(
                    $$$"""{"items":[{"productId":"{{{a}}}","quantity":1},{"productId":"{{{b}}}","quantity":2}],"shippingAddress":{"name":"Bench","line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}}""",
                    Encoding.UTF8, "application/json"),
            };
            if (withKey)
            {
                request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            }

            var started = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (response.StatusCode == HttpStatusCode.Created)
            {
                Interlocked.Increment(ref accepted);
            }
            else
            {
                throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }));
    clock.Stop();
    var calls = Interlocked.Read(ref appCalls) - callsBefore;
    if (count is null)
    {
        Console.Error.WriteLine($"  c={concurrency} key={withKey}: " + string.Join(", ", byOperation.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
    }

    byOperation.Clear();
    Array.Sort(latencies);
    return (accepted / clock.Elapsed.TotalSeconds, latencies[total / 2], latencies[(int)(total * 0.99)], (double)calls / accepted);
}

// The same write an order makes (two stock decrements with their conditions and the order Put), straight to DynamoDB Local.
async Task<double> RawTransactionsAsync(int concurrency, int? count = null)
{
    var total = count ?? ordersPerLevel;
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) < total)
        {
            var a = productIds[Random.Shared.Next(Products)];
            var b = productIds[(Array.IndexOf(productIds, a) + 1 + Random.Shared.Next(Products - 1)) % Products];
            await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems =
                [
                    Decrement(a, 1),
                    Decrement(b, 2),
                    new TransactWriteItem
                    {
                        Put = new Put
                        {
                            TableName = ordersTable,
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
                ],
            });
        }
    }));
    return total / clock.Elapsed.TotalSeconds;
}

TransactWriteItem Decrement(string productId, int quantity) => new()
{
    Update = new Update
    {
        TableName = productsTable,
        Key = ProductStore.Key(productId),
        UpdateExpression = "SET stock = stock - :q",
        ConditionExpression = "attribute_exists(productId) AND stock >= :q",
        ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":q"] = new() { N = quantity.ToString(invariant) } },
    },
};

static async Task<string> TokenAsync(HttpClient http, string clientId, string secret)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
    {
        Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
    };
    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode
        ? JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!
        : throw new InvalidOperationException($"POST /oauth/token answered {(int)response.StatusCode}: {body}");
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
