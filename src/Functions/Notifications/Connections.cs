using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Notifications;

/// <summary>
/// An open WebSocket connection of a client. With no subscriptions it receives every order of its owner;
/// subscribing narrows it to the orders named.
/// </summary>
public sealed record Connection(string ConnectionId, string Owner, DateTimeOffset ConnectedAt, IReadOnlySet<string> Subscriptions)
{
    public bool Wants(string orderId) => Subscriptions.Count == 0 || Subscriptions.Contains(orderId);
}

/// <summary>
/// The Connections table: one item per open connection ({connectionId, owner, connectedAt, ttl, subscriptions}),
/// found by owner through the by-owner index. The TTL is API Gateway's two-hour connection maximum, so an item
/// whose $disconnect was lost goes away by itself.
/// </summary>
public sealed class ConnectionStore(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider clock)
{
    public const string OwnerIndex = "by-owner";

    /// <summary>API Gateway closes every WebSocket connection after two hours.</summary>
    public static readonly TimeSpan MaxConnectionDuration = TimeSpan.FromHours(2);

    public async Task AddAsync(string connectionId, string owner, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await dynamo.PutItemAsync(new PutItemRequest
        {
            TableName = names.ConnectionsTable,
            Item = new Dictionary<string, AttributeValue>
            {
                ["connectionId"] = new() { S = connectionId },
                ["owner"] = new() { S = owner },
                ["connectedAt"] = new() { S = now.ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
                ["ttl"] = new() { N = now.Add(MaxConnectionDuration).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) },
            },
        }, cancellationToken);
    }

    /// <summary>Deletes the connection; deleting one that is not there is fine ($disconnect may come twice).</summary>
    public Task RemoveAsync(string connectionId, CancellationToken cancellationToken) =>
        dynamo.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = names.ConnectionsTable,
            Key = Key(connectionId),
        }, cancellationToken);

    public async Task<Connection?> GetAsync(string connectionId, CancellationToken cancellationToken)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = names.ConnectionsTable,
            Key = Key(connectionId),
            ConsistentRead = true,
        }, cancellationToken);
        return response.IsItemSet ? FromItem(response.Item) : null;
    }

    /// <summary>Adds or removes one order of the connection's subscriptions (a string set; idempotent).</summary>
    public async Task SubscribeAsync(string connectionId, string orderId, bool subscribe, CancellationToken cancellationToken)
    {
        try
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = names.ConnectionsTable,
                Key = Key(connectionId),
                UpdateExpression = subscribe ? "ADD subscriptions :order" : "DELETE subscriptions :order",
                ConditionExpression = "attribute_exists(connectionId)",
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":order"] = new() { SS = [orderId] } },
            }, cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            // The connection went away meanwhile: nothing to change.
        }
    }

    /// <summary>Every open connection of an owner (usually one to three: one per device).</summary>
    public async Task<IReadOnlyList<Connection>> ForOwnerAsync(string owner, CancellationToken cancellationToken)
    {
        var connections = new List<Connection>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await dynamo.QueryAsync(new QueryRequest
            {
                TableName = names.ConnectionsTable,
                IndexName = OwnerIndex,
                KeyConditionExpression = "#owner = :owner",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#owner"] = "owner" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":owner"] = new() { S = owner } },
                ExclusiveStartKey = start,
            }, cancellationToken);
            connections.AddRange(page.Items.Select(FromItem));
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);

        return connections;
    }

    private static Dictionary<string, AttributeValue> Key(string connectionId) =>
        new() { ["connectionId"] = new AttributeValue { S = connectionId } };

    private static Connection FromItem(Dictionary<string, AttributeValue> item) => new(
        item["connectionId"].S,
        item["owner"].S,
        DateTimeOffset.Parse(item["connectedAt"].S, System.Globalization.CultureInfo.InvariantCulture),
        item.TryGetValue("subscriptions", out var set) && set.SS is { Count: > 0 } ids ? ids.ToHashSet(StringComparer.Ordinal) : new HashSet<string>());
}
