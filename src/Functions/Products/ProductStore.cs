using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;
using static OrderProcessing.Functions.Platform.DynamoItem;

namespace OrderProcessing.Functions.Products;

/// <summary>The Products table: one item per product (HASH productId) holding its price and stock on hand.</summary>
public sealed class ProductStore(IAmazonDynamoDB dynamo, ResourceNames names)
{
    /// <summary>BatchGetItem takes at most 100 keys.</summary>
    private const int BatchGetLimit = 100;

    public string Table => names.ProductsTable;

    public async Task<Product?> GetAsync(string productId, CancellationToken cancellationToken)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = Key(productId),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    /// <summary>The products that exist among the given ids, read consistently, in one BatchGetItem per 100 ids.</summary>
    public async Task<Dictionary<string, Product>> GetManyAsync(IEnumerable<string> productIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, Product>(StringComparer.Ordinal);
        foreach (var chunk in productIds.Distinct(StringComparer.Ordinal).Chunk(BatchGetLimit))
        {
            var request = new Dictionary<string, KeysAndAttributes>
            {
                [Table] = new() { Keys = chunk.Select(Key).ToList(), ConsistentRead = true },
            };
            for (var attempt = 0; request.Count > 0; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 25 << attempt)), cancellationToken);
                }

                var response = await dynamo.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = request }, cancellationToken);
                foreach (var item in response.Responses?.GetValueOrDefault(Table) ?? [])
                {
                    var product = FromItem(item);
                    found[product.ProductId] = product;
                }

                request = response.UnprocessedKeys is { Count: > 0 } unprocessed && attempt < 8
                    ? unprocessed
                    : response.UnprocessedKeys is { Count: > 0 }
                        ? throw new ProvisionedThroughputExceededException("Products could not all be read; try again.")
                        : [];
            }
        }

        return found;
    }

    /// <summary>
    /// A page of the catalogue. A Scan is right here: the catalogue is listed whole, page by page, and has no
    /// partition a caller is confined to. Pages come in the table's order, which is stable but not sorted.
    /// </summary>
    public async Task<(List<Product> Items, string? LastKey)> ListAsync(int limit, string? afterProductId, CancellationToken cancellationToken)
    {
        // One item more than the page is read, so that a cursor is given only when another page has items:
        // DynamoDB answers a LastEvaluatedKey whenever Limit is reached, even at the end of the table.
        var items = new List<Product>(limit + 1);
        var start = afterProductId is null ? null : Key(afterProductId);
        do
        {
            var response = await dynamo.ScanAsync(new ScanRequest
            {
                TableName = Table,
                Limit = limit + 1 - items.Count,
                ExclusiveStartKey = start,
            }, cancellationToken);
            items.AddRange((response.Items ?? []).Select(FromItem));
            start = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (items.Count <= limit && start is not null);

        if (items.Count <= limit)
        {
            return (items, null);
        }

        items.RemoveRange(limit, items.Count - limit);
        return (items, items[^1].ProductId);
    }

    /// <summary>Writes a new product; false when one with that id exists already.</summary>
    public async Task<bool> CreateAsync(Product product, CancellationToken cancellationToken)
    {
        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = Table,
                Item = ToItem(product),
                ConditionExpression = "attribute_not_exists(productId)",
            }, cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>Changes name, description, price and currency; null when there is no such product.</summary>
    public async Task<Product?> UpdateDetailsAsync(string productId, string name, string? description, decimal price, string currency,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, AttributeValue>
        {
            [":name"] = S(name),
            [":price"] = N(price),
            [":currency"] = S(currency),
            [":now"] = Time(now),
        };
        string update;
        if (description is null)
        {
            update = "SET #name = :name, price = :price, currency = :currency, updatedAt = :now REMOVE description";
        }
        else
        {
            update = "SET #name = :name, description = :description, price = :price, currency = :currency, updatedAt = :now";
            values[":description"] = S(description);
        }

        return await UpdateAsync(productId, update, new Dictionary<string, string> { ["#name"] = "name" }, values, cancellationToken);
    }

    /// <summary>Sets the stock on hand; null when there is no such product.</summary>
    public Task<Product?> SetStockAsync(string productId, int stock, DateTimeOffset now, CancellationToken cancellationToken) =>
        UpdateAsync(productId, "SET stock = :stock, updatedAt = :now", null,
            new Dictionary<string, AttributeValue> { [":stock"] = N(stock), [":now"] = Time(now) }, cancellationToken);

    private async Task<Product?> UpdateAsync(string productId, string update, Dictionary<string, string>? names,
        Dictionary<string, AttributeValue> values, CancellationToken cancellationToken)
    {
        try
        {
            var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = Table,
                Key = Key(productId),
                UpdateExpression = update,
                ConditionExpression = "attribute_exists(productId)",
                ExpressionAttributeNames = names,
                ExpressionAttributeValues = values,
                ReturnValues = ReturnValue.ALL_NEW,
            }, cancellationToken);
            return FromItem(response.Attributes);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    /// <summary>
    /// The stock change of one product as an item of the caller's transaction: reserves (negative) or releases
    /// (positive) stock, only if the product exists and, when reserving, has enough. A failed condition returns
    /// the product as it is, so the caller can say what is short.
    /// </summary>
    public TransactWriteItem StockChange(string productId, int delta) => new()
    {
        Update = new Update
        {
            TableName = Table,
            Key = Key(productId),
            UpdateExpression = "SET stock = stock + :delta",
            ConditionExpression = delta < 0 ? "attribute_exists(productId) AND stock >= :needed" : "attribute_exists(productId)",
            ExpressionAttributeValues = delta < 0
                ? new Dictionary<string, AttributeValue> { [":delta"] = N(delta), [":needed"] = N(-delta) }
                : new Dictionary<string, AttributeValue> { [":delta"] = N(delta) },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        },
    };

    public static Dictionary<string, AttributeValue> Key(string productId) => new() { ["productId"] = S(productId) };

    public static Dictionary<string, AttributeValue> ToItem(Product product)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            ["productId"] = S(product.ProductId),
            ["name"] = S(product.Name),
            ["price"] = N(product.Price),
            ["currency"] = S(product.Currency),
            ["stock"] = N(product.Stock),
            ["createdAt"] = Time(product.CreatedAt),
            ["updatedAt"] = Time(product.UpdatedAt),
        };
        if (product.Description is not null)
        {
            item["description"] = S(product.Description);
        }

        return item;
    }

    public static Product FromItem(Dictionary<string, AttributeValue> item) => new(
        item.Text("productId"),
        item.Text("name"),
        item.OptionalText("description"),
        item.Amount("price"),
        item.Text("currency"),
        (int)item.WholeNumber("stock"),
        item.Time("createdAt"),
        item.Time("updatedAt"));
}
