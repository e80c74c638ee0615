using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Platform;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local.Provisioning;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// What a test writes into one provisioned stack and reads back from it, straight through DynamoDB and SQS (not
/// through the app): products in, orders, shipments and queue contents out, consistent reads only. Every fixture
/// gives one (<see cref="AppFixture.Data"/>, <see cref="SystemFixture.Data"/>); it owns its two clients.
/// </summary>
public sealed class StackData(ProvisionedStack stack, IAmazonDynamoDB dynamo, IAmazonSQS sqs) : IDisposable
{
    public ProvisionedStack Stack => stack;

    public IAmazonDynamoDB Dynamo => dynamo;

    public IAmazonSQS Sqs => sqs;

    public string ProductsTable => stack.Tables["ProductsTable"];

    public string OrdersTable => stack.Tables["OrdersTable"];

    public string ShipmentsTable => stack.Tables["ShipmentsTable"];

    public string IdempotencyTable => stack.Tables["IdempotencyTable"];

    public ProvisionedQueue Queue(string logicalId) => stack.Queues[logicalId];

    /// <summary>A product straight into the table (<see cref="TestData.Product"/>), answering its new id.</summary>
    public async Task<string> AddProductAsync(int stock, decimal price = 10m, string currency = "EUR", string? name = null)
    {
        var product = TestData.Product(stock, price, currency, name);
        await dynamo.PutItemAsync(ProductsTable, ProductStore.ToItem(product));
        return product.ProductId;
    }

    public async Task<int> StockAsync(string productId)
    {
        var item = (await dynamo.GetItemAsync(new GetItemRequest { TableName = ProductsTable, Key = ProductStore.Key(productId), ConsistentRead = true })).Item;
        return (int)DynamoItem.WholeNumber(item, "stock");
    }

    public async Task<Order?> OrderAsync(string orderId)
    {
        var item = (await dynamo.GetItemAsync(new GetItemRequest { TableName = OrdersTable, Key = OrderStore.Key(orderId), ConsistentRead = true })).Item;
        return item is { Count: > 0 } ? OrderStore.FromItem(item) : null;
    }

    /// <summary>Every order item in the table for this owner (a test-only Scan, to see exactly what was written).</summary>
    public async Task<List<Order>> OrdersOfAsync(string owner) =>
        (await ScanAsync(OrdersTable, "#o = :o", new Dictionary<string, string> { ["#o"] = "owner" }, owner)).Select(OrderStore.FromItem).ToList();

    /// <summary>Every order in the stack (a test-only Scan).</summary>
    public async Task<List<Order>> OrdersAsync() => (await ScanAsync(OrdersTable)).Select(OrderStore.FromItem).ToList();

    public async Task<Shipment?> ShipmentAsync(string orderId)
    {
        var item = (await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = ShipmentsTable,
            Key = ShipmentStore.Key(ShipmentIds.For(orderId)),
            ConsistentRead = true,
        })).Item;
        return item is { Count: > 0 } ? ShipmentStore.FromItem(item) : null;
    }

    /// <summary>Every shipment item of an order (a test-only Scan: sees exactly what was written, whatever its id).</summary>
    public async Task<List<Shipment>> ShipmentsOfAsync(string orderId) =>
        (await ScanAsync(ShipmentsTable, "#o = :o", new Dictionary<string, string> { ["#o"] = "orderId" }, orderId)).Select(ShipmentStore.FromItem).ToList();

    /// <summary>Every shipment in the stack (a test-only Scan).</summary>
    public async Task<List<Shipment>> ShipmentsAsync() => (await ScanAsync(ShipmentsTable)).Select(ShipmentStore.FromItem).ToList();

    public async Task<Order> WaitForOrderAsync(string orderId, Func<Order, bool> condition, TimeSpan? timeout = null)
    {
        Order? last = null;
        await Eventually.HoldsAsync(async () => (last = await OrderAsync(orderId)) is { } order && condition(order), timeout,
            () => $"order {orderId} is {last?.Status.ToWire() ?? "missing"}");
        return last!;
    }

    public async Task<Shipment> WaitForShipmentAsync(string orderId, Func<Shipment, bool>? condition = null, TimeSpan? timeout = null)
    {
        Shipment? last = null;
        await Eventually.HoldsAsync(async () => (last = await ShipmentAsync(orderId)) is { } shipment && (condition?.Invoke(shipment) ?? true),
            timeout, () => $"shipment of order {orderId} is {last?.Status.ToWire() ?? "missing"}");
        return last!;
    }

    /// <summary>Sends a message as a producer would, with the correlation id attribute.</summary>
    public Task SendAsync(string queueLogicalId, string body, string? groupId = null, string? correlationId = null) =>
        sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = Queue(queueLogicalId).Url,
            MessageBody = body,
            MessageGroupId = groupId,
            MessageDeduplicationId = groupId is null ? null : Guid.NewGuid().ToString("N"),
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                ["correlation_id"] = new() { DataType = "String", StringValue = correlationId ?? $"test-{Guid.NewGuid():N}" },
            },
        });

    /// <summary>Messages visible in a queue, from its attributes (no receive, so nothing is hidden or counted).</summary>
    public async Task<int> VisibleMessagesAsync(string queueLogicalId) =>
        (await sqs.GetQueueAttributesAsync(Queue(queueLogicalId).Url, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages;

    /// <summary>Messages visible, in flight or delayed: zero when a queue has been drained.</summary>
    public async Task<int> MessagesInAsync(string queueLogicalId)
    {
        var attributes = await sqs.GetQueueAttributesAsync(Queue(queueLogicalId).Url,
            ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]);
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible + attributes.ApproximateNumberOfMessagesDelayed;
    }

    /// <summary>Waits until none of these queues holds a message.</summary>
    public async Task WaitUntilDrainedAsync(params string[] queueLogicalIds)
    {
        var counts = new Dictionary<string, int>();
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var queue in queueLogicalIds)
            {
                counts[queue] = await MessagesInAsync(queue);
            }

            return counts.Values.All(c => c == 0);
        }, TimeSpan.FromSeconds(90), () => string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}")));
    }

    /// <summary>Reads a DLQ's messages and makes them visible again at once, so the test looks without taking.</summary>
    public async Task<List<Message>> PeekAsync(string queueLogicalId)
    {
        var url = Queue(queueLogicalId).Url;
        var messages = new List<Message>();
        while (true)
        {
            var received = (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                VisibilityTimeout = 30,
                MessageSystemAttributeNames = ["All"],
                MessageAttributeNames = ["All"],
            })).Messages ?? [];
            if (received.Count == 0)
            {
                break;
            }

            messages.AddRange(received);
        }

        foreach (var message in messages)
        {
            await sqs.ChangeMessageVisibilityAsync(url, message.ReceiptHandle, 0);
        }

        return messages;
    }

    public void Dispose()
    {
        dynamo.Dispose();
        sqs.Dispose();
    }

    private async Task<List<Dictionary<string, AttributeValue>>> ScanAsync(string table, string? filter = null,
        Dictionary<string, string>? names = null, string? value = null)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await dynamo.ScanAsync(new ScanRequest
            {
                TableName = table,
                ConsistentRead = true,
                FilterExpression = filter,
                ExpressionAttributeNames = names,
                ExpressionAttributeValues = value is null ? null : new Dictionary<string, AttributeValue> { [":o"] = new() { S = value } },
                ExclusiveStartKey = start,
            });
            items.AddRange(page.Items ?? []);
            start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        }
        while (start is not null);
        return items;
    }
}

/// <summary>Polls until a condition holds, failing with what was last seen.</summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? lastSeen = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(45));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not reached within {(timeout ?? TimeSpan.FromSeconds(45)).TotalSeconds} s: {lastSeen?.Invoke() ?? "condition false"}");
            }

            await Task.Delay(100);
        }
    }
}
