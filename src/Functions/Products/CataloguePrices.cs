using System.Collections.Concurrent;

namespace OrderProcessing.Functions.Products;

/// <summary>
/// What this instance last read of each product (price, currency, name, shard count, revision), so that an order
/// needs no catalogue read. Never trusted: every stock change of an order is conditioned on the revision it was
/// priced from, so a product changed since makes the order's transaction fail, and the order is priced again
/// from a fresh read. The stock remembered here is never used to accept an order, only to plan which shard to try.
/// </summary>
public sealed class CataloguePrices(ProductStore store)
{
    /// <summary>Beyond this many products the memory starts afresh rather than grow without bound.</summary>
    private const int MaxRemembered = 50_000;

    private readonly ConcurrentDictionary<string, Product> _known = new(StringComparer.Ordinal);

    /// <summary>The products among <paramref name="productIds"/>: from memory when all are known, else read (and then fresh).</summary>
    public async Task<(IReadOnlyDictionary<string, Product> Products, bool Fresh)> GetAsync(IReadOnlyCollection<string> productIds,
        CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, Product>(StringComparer.Ordinal);
        foreach (var id in productIds)
        {
            if (!_known.TryGetValue(id, out var product))
            {
                return (await ReadAsync(productIds, cancellationToken), true);
            }

            known[id] = product;
        }

        return (known, false);
    }

    /// <summary>Reads the products consistently (with every shard's stock) and remembers them.</summary>
    public async Task<IReadOnlyDictionary<string, Product>> ReadAsync(IEnumerable<string> productIds, CancellationToken cancellationToken)
    {
        var fresh = await store.GetManyAsync(productIds, cancellationToken);
        if (_known.Count > MaxRemembered)
        {
            _known.Clear();
        }

        foreach (var product in fresh.Values)
        {
            _known[product.ProductId] = product;
        }

        return fresh;
    }
}

/// <summary>Which stock shards an order line takes its quantity from.</summary>
public static class StockPlan
{
    /// <summary>
    /// All of it from one shard chosen at random, when the shards' stock is not known (remembered prices only);
    /// with the stock just read, from a random shard first, spilling over to the next ones when it is short.
    /// Null when the product's shards together do not have enough.
    /// </summary>
    public static IReadOnlyList<ShardTake>? Take(Product product, int quantity, bool stockKnown, Random random)
    {
        var first = random.Next(product.StockShards);
        if (!stockKnown || product.ShardStock.Count != product.StockShards)
        {
            return [new ShardTake(first, quantity)];
        }

        var takes = new List<ShardTake>();
        var remaining = quantity;
        for (var i = 0; i < product.StockShards && remaining > 0; i++)
        {
            var shard = (first + i) % product.StockShards;
            var taken = Math.Min(product.ShardStock[shard], remaining);
            if (taken > 0)
            {
                takes.Add(new ShardTake(shard, taken));
                remaining -= taken;
            }
        }

        return remaining == 0 ? takes : null;
    }
}
