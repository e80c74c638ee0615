using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;
using static OrderProcessing.Functions.Platform.DynamoItem;

namespace OrderProcessing.Functions.Orders;

/// <summary>
/// The Orders table: one item per order (HASH orderId) with its lines, address and status history;
/// GSI <c>by-owner</c> (owner, orderId) lists a client's orders newest first without a Scan.
/// </summary>
public sealed class OrderStore(IAmazonDynamoDB dynamo, ResourceNames names)
{
    public const string ByOwnerIndex = "by-owner";

    /// <summary>The order version whose announcement claim was given back; not in the by-owner index, so not copied there.</summary>
    private const string AnnouncementReleasedAttribute = "announcementReleased";

    public string Table => names.OrdersTable;

    public async Task<Order?> GetAsync(string orderId, CancellationToken cancellationToken)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = Key(orderId),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    /// <summary>
    /// A page of one owner's orders, newest first, from the by-owner index. With a status filter DynamoDB
    /// applies the filter after reading, so this reads on until the page is full or the owner's orders end.
    /// </summary>
    public async Task<(List<Order> Items, string? LastOrderId)> ListByOwnerAsync(string owner, OrderStatus? status, int limit,
        string? afterOrderId, CancellationToken cancellationToken)
    {
        var items = new List<Order>(limit);
        var start = afterOrderId is null
            ? null
            : new Dictionary<string, AttributeValue> { ["orderId"] = S(afterOrderId), ["owner"] = S(owner) };
        var more = false;
        do
        {
            var request = new QueryRequest
            {
                TableName = Table,
                IndexName = ByOwnerIndex,
                KeyConditionExpression = "#owner = :owner",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#owner"] = "owner" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":owner"] = S(owner) },
                ScanIndexForward = false,
                ExclusiveStartKey = start,
                // One more than needed tells whether a next page exists without another call.
                Limit = status is null ? limit - items.Count + 1 : Math.Max(limit, 25),
            };
            if (status is { } wanted)
            {
                request.FilterExpression = "#status = :status";
                request.ExpressionAttributeNames["#status"] = "status";
                request.ExpressionAttributeValues[":status"] = S(wanted.ToWire());
            }

            var response = await dynamo.QueryAsync(request, cancellationToken);
            var page = response.Items ?? [];
            var ids = page.Take(limit - items.Count).Select(i => i.Text("orderId")).ToList();
            var taken = ids.Count;
            more = page.Count > taken;
            var found = await GetManyAsync(ids, cancellationToken);

            // The index lags the table a little: an order whose status has just moved on is left out of a filtered page.
            items.AddRange(ids.Where(id => found.TryGetValue(id, out var order) && (status is null || order.Status == status)).Select(id => found[id]));

            start = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
            if (items.Count == limit && taken == page.Count && start is not null)
            {
                // The page ended exactly at the limit; a further read would only be to learn whether more exist.
                more = true;
            }
        }
        while (!more && items.Count < limit && start is not null);

        return (items, more ? items[^1].OrderId : null);
    }

    /// <summary>
    /// Orders by id, read consistently in one BatchGetItem per 100 ids: the by-owner index holds only keys and
    /// status, so that a status change does not rewrite a copy of the order there.
    /// </summary>
    private async Task<Dictionary<string, Order>> GetManyAsync(IReadOnlyCollection<string> orderIds, CancellationToken cancellationToken) =>
        (await DynamoBatch.GetAsync(dynamo, Table, orderIds.Select(Key), consistent: true, cancellationToken))
            .Select(FromItem).ToDictionary(o => o.OrderId, StringComparer.Ordinal);

    /// <summary>The Put of a new order, for the transaction that also reserves its stock.</summary>
    public TransactWriteItem PutNew(Order order) => new()
    {
        Put = new Put
        {
            TableName = Table,
            Item = ToItem(order),
            ConditionExpression = "attribute_not_exists(orderId)",
        },
    };

    /// <summary>
    /// The conditional update that moves an order from its current status (and version) to the next,
    /// appending the history entry: a concurrent change makes the condition fail and nothing is written.
    /// </summary>
    public Update StatusChange(Order current, StatusChange change) => new()
    {
        TableName = Table,
        Key = Key(current.OrderId),
        UpdateExpression = "SET #status = :to, version = version + :one, updatedAt = :at, correlationId = :cid, traceparent = :trace, history = list_append(history, :entry)",
        ConditionExpression = "#status = :from AND version = :version",
        ExpressionAttributeNames = new Dictionary<string, string> { ["#status"] = "status" },
        ExpressionAttributeValues = new Dictionary<string, AttributeValue>
        {
            [":to"] = S(change.Status.ToWire()),
            [":from"] = S(current.Status.ToWire()),
            [":version"] = N(current.Version),
            [":one"] = N(1),
            [":at"] = Time(change.At),
            [":cid"] = S(change.CorrelationId),
            [":trace"] = S(Tracing.CurrentTraceParent() ?? ""),
            [":entry"] = new AttributeValue { L = [HistoryItem(change)] },
        },
        ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
    };

    /// <summary><see cref="StatusChange(Order, Orders.StatusChange)"/> as a single UpdateItem that returns the new order.</summary>
    public async Task<Order?> TryApplyAsync(Order current, StatusChange change, CancellationToken cancellationToken)
    {
        var update = StatusChange(current, change);
        try
        {
            var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = update.TableName,
                Key = update.Key,
                UpdateExpression = update.UpdateExpression,
                ConditionExpression = update.ConditionExpression,
                ExpressionAttributeNames = update.ExpressionAttributeNames,
                ExpressionAttributeValues = update.ExpressionAttributeValues,
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
    /// Gives back the announcement claim that the status write of <paramref name="version"/> took (its announcement
    /// failed), so that a repeat of the change announces it again (<see cref="Order.AnnouncementReleased"/>). Nothing
    /// happens when the order has moved on.
    /// </summary>
    public async Task ReleaseAnnouncementAsync(string orderId, long version, CancellationToken cancellationToken)
    {
        try
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = Table,
                Key = Key(orderId),
                UpdateExpression = "SET " + AnnouncementReleasedAttribute + " = :version",
                ConditionExpression = "version = :version",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":version"] = N(version) },
            }, cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            // The order moved on: its next change is announced in its own right.
        }
    }

    /// <summary>The order as it is after <paramref name="change"/> is applied to it.</summary>
    public static Order Changed(Order current, StatusChange change) => current with
    {
        Status = change.Status,
        Version = current.Version + 1,
        UpdatedAt = change.At,
        CorrelationId = change.CorrelationId,
        History = [.. current.History, change],
    };

    public static Dictionary<string, AttributeValue> Key(string orderId) => new() { ["orderId"] = S(orderId) };

    public static Dictionary<string, AttributeValue> ToItem(Order order)
    {
        var address = new Dictionary<string, AttributeValue>
        {
            ["name"] = S(order.ShippingAddress.Name),
            ["line1"] = S(order.ShippingAddress.Line1),
            ["city"] = S(order.ShippingAddress.City),
            ["postalCode"] = S(order.ShippingAddress.PostalCode),
            ["country"] = S(order.ShippingAddress.Country),
        };
        if (order.ShippingAddress.Line2 is { } line2)
        {
            address["line2"] = S(line2);
        }

        if (order.ShippingAddress.Region is { } region)
        {
            address["region"] = S(region);
        }

        var item = new Dictionary<string, AttributeValue>
        {
            ["orderId"] = S(order.OrderId),
            ["owner"] = S(order.Owner),
            ["status"] = S(order.Status.ToWire()),
            ["version"] = N(order.Version),
            ["createdAt"] = Time(order.CreatedAt),
            ["updatedAt"] = Time(order.UpdatedAt),
            ["correlationId"] = S(order.CorrelationId),
            ["traceparent"] = S(order.TraceParent ?? Tracing.CurrentTraceParent() ?? ""),
            ["currency"] = S(order.Currency),
            ["total"] = N(order.Total),
            ["items"] = new AttributeValue
            {
                L = order.Items.Select(line => new AttributeValue
                {
                    M = new Dictionary<string, AttributeValue>
                    {
                        ["productId"] = S(line.ProductId),
                        ["name"] = S(line.Name),
                        ["quantity"] = N(line.Quantity),
                        ["unitPrice"] = N(line.UnitPrice),
                        ["lineTotal"] = N(line.LineTotal),
                        ["taken"] = new AttributeValue
                        {
                            M = line.Taken.ToDictionary(t => t.Shard.ToString(CultureInfo.InvariantCulture), t => N(t.Quantity)),
                        },
                    },
                }).ToList(),
            },
            ["shippingAddress"] = new AttributeValue { M = address },
            ["history"] = new AttributeValue { L = order.History.Select(HistoryItem).ToList() },
        };
        if (order.CustomerReference is { } reference)
        {
            item["customerReference"] = S(reference);
        }

        return item;
    }

    public static Order FromItem(Dictionary<string, AttributeValue> item)
    {
        var address = item.Map("shippingAddress");
        return new Order(
            item.Text("orderId"),
            OrderStatusRules.Parse(item.Text("status")),
            item.List("items").Select(v => v.M).Select(line => new OrderLine(
                line.Text("productId"),
                line.Text("name"),
                (int)line.WholeNumber("quantity"),
                line.Amount("unitPrice"),
                line.Amount("lineTotal"))
            {
                Taken = line.TryGetValue("taken", out var taken) && taken.M is { Count: > 0 } shards
                    ? shards.Select(t => new ShardTake(int.Parse(t.Key, CultureInfo.InvariantCulture), int.Parse(t.Value.N, CultureInfo.InvariantCulture))).ToList()
                    : [new ShardTake(0, (int)line.WholeNumber("quantity"))],
            }).ToList(),
            item.Text("currency"),
            item.Amount("total"),
            new ShippingAddress(
                address.Text("name"),
                address.Text("line1"),
                address.OptionalText("line2"),
                address.Text("city"),
                address.OptionalText("region"),
                address.Text("postalCode"),
                address.Text("country")),
            item.OptionalText("customerReference"),
            item.Time("createdAt"),
            item.Time("updatedAt"),
            item.WholeNumber("version"))
        {
            Owner = item.Text("owner"),
            CorrelationId = item.OptionalText("correlationId") ?? "",
            TraceParent = item.OptionalText("traceparent") is { Length: > 0 } trace ? trace : null,
            History = item.List("history").Select(v => v.M).Select(entry => new StatusChange(
                OrderStatusRules.Parse(entry.Text("status")),
                entry.OptionalText("previousStatus") is { } previous ? OrderStatusRules.Parse(previous) : null,
                entry.Time("at"),
                entry.Text("source"),
                entry.OptionalText("correlationId") ?? "")).ToList(),
            AnnouncementReleased = item.TryGetValue(AnnouncementReleasedAttribute, out var released) && released.N is not null
                ? item.WholeNumber(AnnouncementReleasedAttribute)
                : null,
        };
    }

    private static AttributeValue HistoryItem(StatusChange change)
    {
        var entry = new Dictionary<string, AttributeValue>
        {
            ["status"] = S(change.Status.ToWire()),
            ["at"] = Time(change.At),
            ["source"] = S(change.Source),
            ["correlationId"] = S(change.CorrelationId),
        };
        if (change.PreviousStatus is { } previous)
        {
            entry["previousStatus"] = S(previous.ToWire());
        }

        return new AttributeValue { M = entry };
    }
}
