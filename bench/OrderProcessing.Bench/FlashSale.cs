using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;

namespace OrderProcessing.Bench;

/// <summary>What a flash sale on one product came to.</summary>
internal sealed record FlashSaleResult(
    int Shards,
    int Clients,
    int Orders,
    double PerSecond,
    long RefusedTransactions,
    IReadOnlyList<int> TakenByShard,
    double WriteUnits)
{
    /// <summary>
    /// Each order's Update of a shard item (under 1 KB) bills 2 write units, a transactional write of one unit; over all
    /// the write units the run billed, as AWS bills them (<see cref="CapacityMeter.ByTableAsync"/>).
    /// </summary>
    public double HottestShare => WriteUnits == 0 ? double.NaN : 2.0 * TakenByShard.Max() / WriteUnits;
}

/// <summary>
/// Many customers (one client and token each, so each has its own rate-limit item) buying one unit each of the same
/// product, its stock over <c>shards</c> shard items, all through POST /orders of the local host.
/// </summary>
internal static class FlashSale
{
    public static async Task<FlashSaleResult> RunAsync(LocalHost host, IReadOnlyList<HttpClient> customers, AwsCallMeter meter,
        CapacityMeter capacity, int shards, int orders, CancellationToken cancellationToken)
    {
        var store = host.App.Services.GetRequiredService<ProductStore>();
        var now = DateTimeOffset.UtcNow;
        var productId = $"flash-sale-{Guid.NewGuid():N}"[..20];
        const int Stock = 8_000_000;
        if (!await store.CreateAsync(new Product(productId, "Flash sale", null, 5m, "EUR", Stock, now, now, shards), cancellationToken))
        {
            throw new InvalidOperationException("The flash-sale product exists already.");
        }

        // Every customer places one order first, so the run measures orders, not each instance's first catalogue read.
        await Task.WhenAll(customers.Select(c => OrderAsync(c, productId)));
        var warm = (await store.GetAsync(productId, cancellationToken))!.ShardStock;

        meter.Reset();
        capacity.Reset();
        meter.Counting = true;
        capacity.Counting = true;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(customers.Select(async customer =>
        {
            while (Interlocked.Increment(ref next) < orders)
            {
                await OrderAsync(customer, productId);
            }
        }));
        var elapsed = clock.Elapsed;
        meter.Counting = false;
        capacity.Counting = false;

        var after = (await store.GetAsync(productId, cancellationToken))!.ShardStock;
        var taken = warm.Zip(after, (w, a) => w - a).ToList();
        var refused = meter.Snapshot().GetValueOrDefault("DynamoDB TransactWriteItems (refused)")?.Requests ?? 0;
        var billed = (await capacity.ByTableAsync(cancellationToken)).Values.Sum(t => t.BilledWrite);
        return new FlashSaleResult(shards, customers.Count, orders, orders / elapsed.TotalSeconds, refused, taken, billed);
    }

    private static async Task OrderAsync(HttpClient customer, string productId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = new StringContent(
                $$$"""{"items":[{"productId":"{{{productId}}}","quantity":1}],"shippingAddress":{"name":"Bench","line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}}""",
                Encoding.UTF8, "application/json"),
        };
        using var response = await customer.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
