using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;
using static OrderProcessing.Functions.Platform.DynamoItem;

namespace OrderProcessing.Functions.Products;

/// <summary>
/// The Products table (HASH productId). A product is one item holding its details and the stock of its first
/// stock shard; a product with <c>stockShards</c> N &gt; 1 has N − 1 more items, "&lt;productId&gt;#&lt;k&gt;", each holding
/// the stock of shard k, so that orders of one hot product spread over N partitions instead of queueing on one
/// item. Every item of a product carries the product's <c>revision</c>, raised on all of them in one transaction
/// whenever the price, currency, name or shard count changes: an order conditions each stock change on the
/// revision it priced from, so it is never written at a stale price. The product items (not the shard items)
/// carry <c>catalogue</c>, the partition of GSI <c>catalogue</c> (catalogue, productId) that lists the catalogue
/// without a Scan; the index projects the details but not the stock, so orders never write it.
/// </summary>
public sealed class ProductStore(IAmazonDynamoDB dynamo, ResourceNames names)
{
    public const string CatalogueIndex = "catalogue";
    public const string CataloguePartition = "products";
    public const int MaxShards = 32;

    /// <summary>Attempts of an administrative change that raced with orders on the same items.</summary>
    private const int MaxAttempts = 8;

    public string Table => names.ProductsTable;

    public async Task<Product?> GetAsync(string productId, CancellationToken cancellationToken) =>
        (await GetManyAsync([productId], cancellationToken)).GetValueOrDefault(productId);

    /// <summary>
    /// The products that exist among the given ids with the stock of every shard, read consistently: one
    /// BatchGetItem of the product items, and one more for the shards of the products that have more than one.
    /// </summary>
    public async Task<Dictionary<string, Product>> GetManyAsync(IEnumerable<string> productIds, CancellationToken cancellationToken)
    {
        var ids = productIds.Where(IsProductId).Distinct(StringComparer.Ordinal).ToList();
        var items = await BatchGetAsync(ids.Select(id => Key(id)), consistent: true, cancellationToken);
        var found = items.Values.Where(i => !i.ContainsKey("shardOf")).Select(FromItem).ToDictionary(p => p.ProductId, StringComparer.Ordinal);
        return await WithShardStockAsync(found, consistent: true, cancellationToken);
    }

    /// <summary>
    /// A page of the catalogue in product id order: a Query of the catalogue index (details), then the stock
    /// of the page's products read from their items. One item more than the page is read, so that a cursor is
    /// given only when another page has items.
    /// </summary>
    public async Task<(List<Product> Items, string? LastKey)> ListAsync(int limit, string? afterProductId, CancellationToken cancellationToken)
    {
        var details = new List<Dictionary<string, AttributeValue>>(limit + 1);
        Dictionary<string, AttributeValue>? start = afterProductId is null
            ? null
            : new() { ["catalogue"] = S(CataloguePartition), ["productId"] = S(afterProductId) };
        do
        {
            var response = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = Table,
                IndexName = CatalogueIndex,
                KeyConditionExpression = "#catalogue = :catalogue",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#catalogue"] = "catalogue" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":catalogue"] = S(CataloguePartition) },
                Limit = limit + 1 - details.Count,
                ExclusiveStartKey = start,
            }, cancellationToken);
            details.AddRange(response.Items ?? []);
            start = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (details.Count <= limit && start is not null);

        var more = details.Count > limit;
        var page = details.Take(limit).Select(d => d.Text("productId")).ToList();

        // The index holds no stock: read it (eventually consistent, as a listing may be) from the products' own items.
        var stock = await BatchGetAsync(page.Select(id => Key(id)), consistent: false, cancellationToken);
        var products = stock.Values.Select(FromItem).ToDictionary(p => p.ProductId, StringComparer.Ordinal);
        products = await WithShardStockAsync(products, consistent: false, cancellationToken);
        var items = page.Where(products.ContainsKey).Select(id => products[id]).ToList();
        return (items, more ? page[^1] : null);
    }

    /// <summary>Writes a new product and its stock shards; false when one with that id exists already.</summary>
    public async Task<bool> CreateAsync(Product product, CancellationToken cancellationToken)
    {
        var shares = Spread(product.Stock, product.StockShards);
        var write = new List<TransactWriteItem>
        {
            new() { Put = new Put { TableName = Table, Item = ToItem(product with { ShardStock = shares }), ConditionExpression = "attribute_not_exists(productId)" } },
        };
        write.AddRange(Enumerable.Range(1, product.StockShards - 1).Select(k => new TransactWriteItem
        {
            Put = new Put { TableName = Table, Item = ShardItem(product.ProductId, k, shares[k], product.Revision), ConditionExpression = "attribute_not_exists(productId)" },
        }));
        try
        {
            await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = write }, cancellationToken);
            return true;
        }
        catch (TransactionCanceledException e) when (e.CancellationReasons?.Any(r => r.Code == "ConditionalCheckFailed") == true)
        {
            return false;
        }
    }

    /// <summary>
    /// Changes name, description, price, currency and (when given) the number of stock shards, keeping the total
    /// stock; raises the revision on every item of the product in the same transaction. Null when there is no such product.
    /// </summary>
    public async Task<Product?> UpdateDetailsAsync(string productId, string name, string? description, decimal price, string currency,
        int? stockShards, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await GetAsync(productId, cancellationToken) is not { } current)
            {
                return null;
            }

            var shards = stockShards ?? current.StockShards;
            var updated = current with
            {
                Name = name,
                Description = description,
                Price = price,
                Currency = currency,
                StockShards = shards,
                UpdatedAt = now,
                Revision = current.Revision + 1,
                ShardStock = shards == current.StockShards ? current.ShardStock : Spread(current.Stock, shards),
            };
            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = Rewrite(current, updated) }, cancellationToken);
                return updated;
            }
            catch (TransactionCanceledException) when (attempt < MaxAttempts)
            {
                // An order or another change moved one of the items since it was read: read again and redo.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * attempt), cancellationToken);
            }
        }
    }

    /// <summary>Sets the stock on hand, spread evenly over the product's shards; null when there is no such product.</summary>
    public async Task<Product?> SetStockAsync(string productId, int stock, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (await GetAsync(productId, cancellationToken) is not { } current)
            {
                return null;
            }

            var updated = current with { Stock = stock, ShardStock = Spread(stock, current.StockShards), UpdatedAt = now };
            try
            {
                await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = Rewrite(current, updated) }, cancellationToken);
                return updated;
            }
            catch (TransactionCanceledException) when (attempt < MaxAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * attempt), cancellationToken);
            }
        }
    }

    /// <summary>
    /// Reserves stock from one shard, as an item of the order's transaction: only if the shard exists, is still
    /// at the revision the order was priced from, and has enough. A failed condition returns the shard as it is.
    /// </summary>
    public TransactWriteItem Reserve(string productId, ShardTake take, long revision) => new()
    {
        Update = new Update
        {
            TableName = Table,
            Key = Key(productId, take.Shard),
            UpdateExpression = "SET stock = stock - :quantity",
            // Products written before revisions existed have none; their first change gives them one.
            ConditionExpression = revision == 0
                ? "attribute_exists(productId) AND stock >= :quantity AND (attribute_not_exists(revision) OR revision = :revision)"
                : "attribute_exists(productId) AND stock >= :quantity AND revision = :revision",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":quantity"] = N(take.Quantity), [":revision"] = N(revision) },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        },
    };

    /// <summary>Returns stock to one shard, as an item of the cancellation's transaction (only if the shard exists).</summary>
    public TransactWriteItem Release(string productId, ShardTake take) => new()
    {
        Update = new Update
        {
            TableName = Table,
            Key = Key(productId, take.Shard),
            UpdateExpression = "SET stock = stock + :quantity",
            ConditionExpression = "attribute_exists(productId)",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":quantity"] = N(take.Quantity) },
        },
    };

    /// <summary>The key of a product (shard 0) or of one of its other stock shards.</summary>
    public static Dictionary<string, AttributeValue> Key(string productId, int shard = 0) =>
        new() { ["productId"] = S(shard == 0 ? productId : $"{productId}#{shard}") };

    /// <summary><paramref name="total"/> over <paramref name="shards"/> shards, the remainder on the first ones.</summary>
    public static IReadOnlyList<int> Spread(int total, int shards) =>
        Enumerable.Range(0, shards).Select(k => (total / shards) + (k < total % shards ? 1 : 0)).ToList();

    /// <summary>The product's item (details and the first shard's stock, all of it when unsharded).</summary>
    public static Dictionary<string, AttributeValue> ToItem(Product product)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            ["productId"] = S(product.ProductId),
            ["catalogue"] = S(CataloguePartition),
            ["name"] = S(product.Name),
            ["price"] = N(product.Price),
            ["currency"] = S(product.Currency),
            ["stock"] = N(product.ShardStock.Count > 0 ? product.ShardStock[0] : product.Stock),
            ["stockShards"] = N(product.StockShards),
            ["revision"] = N(product.Revision),
            ["createdAt"] = Time(product.CreatedAt),
            ["updatedAt"] = Time(product.UpdatedAt),
        };
        if (product.Description is not null)
        {
            item["description"] = S(product.Description);
        }

        return item;
    }

    public static Product FromItem(Dictionary<string, AttributeValue> item)
    {
        var stock = (int)item.WholeNumber("stock");
        return new Product(
            item.Text("productId"),
            item.Text("name"),
            item.OptionalText("description"),
            item.Amount("price"),
            item.Text("currency"),
            stock,
            item.Time("createdAt"),
            item.Time("updatedAt"),
            item.ContainsKey("stockShards") ? (int)item.WholeNumber("stockShards") : 1)
        {
            Revision = item.ContainsKey("revision") ? item.WholeNumber("revision") : 0,
            ShardStock = [stock],
        };
    }

    private static bool IsProductId(string id) => id.Length > 0 && !id.Contains('#', StringComparison.Ordinal);

    private static Dictionary<string, AttributeValue> ShardItem(string productId, int shard, int stock, long revision) => new()
    {
        ["productId"] = S($"{productId}#{shard}"),
        ["shardOf"] = S(productId),
        ["stock"] = N(stock),
        ["revision"] = N(revision),
    };

    /// <summary>
    /// The transaction that takes a product from <paramref name="current"/> (as read) to <paramref name="updated"/>:
    /// every item conditioned on what was read (revision and stock), so an order or change
    /// in between makes it fail instead of losing stock.
    /// </summary>
    private List<TransactWriteItem> Rewrite(Product current, Product updated)
    {
        var write = new List<TransactWriteItem>();
        for (var k = 0; k < Math.Max(current.StockShards, updated.StockShards); k++)
        {
            var values = new Dictionary<string, AttributeValue> { [":revision"] = N(current.Revision) };
            var condition = current.Revision == 0 ? "(attribute_not_exists(revision) OR revision = :revision)" : "revision = :revision";
            // Each item is rewritten whole: it must still hold the stock read, or an order in between would be lost.
            if (k < current.StockShards)
            {
                condition += " AND stock = :stock";
                values[":stock"] = N(current.ShardStock[k]);
            }

            if (k >= updated.StockShards)
            {
                write.Add(new() { Delete = new Delete { TableName = Table, Key = Key(current.ProductId, k), ConditionExpression = condition, ExpressionAttributeValues = values } });
            }
            else if (k == 0 || k < current.StockShards)
            {
                write.Add(new()
                {
                    Put = new Put
                    {
                        TableName = Table,
                        Item = k == 0 ? ToItem(updated) : ShardItem(updated.ProductId, k, updated.ShardStock[k], updated.Revision),
                        ConditionExpression = condition,
                        ExpressionAttributeValues = values,
                    },
                });
            }
            else
            {
                write.Add(new()
                {
                    Put = new Put
                    {
                        TableName = Table,
                        Item = ShardItem(updated.ProductId, k, updated.ShardStock[k], updated.Revision),
                        ConditionExpression = "attribute_not_exists(productId)",
                    },
                });
            }
        }

        return write;
    }

    /// <summary>Adds the stock of the other shards to the products that have more than one.</summary>
    private async Task<Dictionary<string, Product>> WithShardStockAsync(Dictionary<string, Product> products, bool consistent,
        CancellationToken cancellationToken)
    {
        var sharded = products.Values.Where(p => p.StockShards > 1).ToList();
        if (sharded.Count == 0)
        {
            return products;
        }

        var shards = await BatchGetAsync(sharded.SelectMany(p => Enumerable.Range(1, p.StockShards - 1).Select(k => Key(p.ProductId, k))),
            consistent, cancellationToken);
        foreach (var product in sharded)
        {
            var stock = new int[product.StockShards];
            stock[0] = product.ShardStock[0];
            for (var k = 1; k < product.StockShards; k++)
            {
                stock[k] = shards.TryGetValue($"{product.ProductId}#{k}", out var shard) ? (int)shard.WholeNumber("stock") : 0;
            }

            products[product.ProductId] = product with { Stock = stock.Sum(), ShardStock = stock };
        }

        return products;
    }

    /// <summary>Items by their product id (shard keys included).</summary>
    private async Task<Dictionary<string, Dictionary<string, AttributeValue>>> BatchGetAsync(IEnumerable<Dictionary<string, AttributeValue>> keys,
        bool consistent, CancellationToken cancellationToken) =>
        (await DynamoBatch.GetAsync(dynamo, Table, keys, consistent, cancellationToken)).ToDictionary(i => i.Text("productId"), StringComparer.Ordinal);
}

/// <summary>How much of an order line was taken from which stock shard.</summary>
public sealed record ShardTake(int Shard, int Quantity);
