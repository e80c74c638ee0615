using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Revoked access tokens, kept on their client's own item in the rate-limits table ("client#&lt;client&gt;"): a map
/// <c>revoked</c> of jti → expiry (epoch seconds). The same item holds the client's rate-limit window, so
/// <see cref="ClientRateLimiter"/> reads the deny-list with the write that counts requests, and admits on what it
/// read for <see cref="ClientRateLimiter.AdmissionLease"/>. A revocation answers only when that lease has passed
/// since its write, so every read from before it has expired: the very next request, in every function, is
/// refused. Entries are dropped once their token would have expired anyway.
/// </summary>
public sealed class DenyList(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    internal const string RevokedAttribute = "revoked";

    public async Task DenyAsync(string tokenId, string clientId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (expiresAt <= now)
        {
            return; // Expired tokens are refused anyway.
        }

        // A map's entry can only be set once the map exists: make it (a no-op when it does), then set the entry.
        var key = ClientRateLimiter.ClientKey(clientId);
        await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = key,
            UpdateExpression = "SET #revoked = if_not_exists(#revoked, :empty)",
            ExpressionAttributeNames = new() { ["#revoked"] = RevokedAttribute },
            ExpressionAttributeValues = new() { [":empty"] = new AttributeValue { M = [] } },
        }, cancellationToken);
        var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = key,
            UpdateExpression = "SET #revoked.#jti = :expires",
            ExpressionAttributeNames = new() { ["#revoked"] = RevokedAttribute, ["#jti"] = tokenId },
            ExpressionAttributeValues = new() { [":expires"] = new AttributeValue { N = Epoch(expiresAt) } },
            ReturnValues = ReturnValue.ALL_NEW,
        }, cancellationToken);

        // Keep the item small (every request of the client rewrites it): forget tokens that have expired since.
        var expired = response.Attributes.TryGetValue(RevokedAttribute, out var revoked) && revoked.M is { } entries
            ? entries.Where(e => long.Parse(e.Value.N, CultureInfo.InvariantCulture) < now.ToUnixTimeSeconds()).Select(e => e.Key).Take(50).ToList()
            : [];
        if (expired.Count > 0)
        {
            await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = names.RateLimitsTable,
                Key = key,
                UpdateExpression = "REMOVE " + string.Join(", ", expired.Select((_, i) => $"#revoked.#e{i}")),
                ExpressionAttributeNames = expired.Select((jti, i) => KeyValuePair.Create($"#e{i}", jti))
                    .Append(KeyValuePair.Create("#revoked", RevokedAttribute)).ToDictionary(),
            }, cancellationToken);
        }

        // Until then an instance may still admit the token on a deny-list it read before the write.
        await Task.Delay(ClientRateLimiter.AdmissionLease, time, cancellationToken);
    }

    /// <summary>One strongly consistent read of the client's item; for callers that do not count a request (WebSocket $connect).</summary>
    public async Task<bool> IsDeniedAsync(string tokenId, string clientId, CancellationToken cancellationToken = default)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = ClientRateLimiter.ClientKey(clientId),
            ConsistentRead = true,
            ProjectionExpression = "#revoked.#jti",
            ExpressionAttributeNames = new() { ["#revoked"] = RevokedAttribute, ["#jti"] = tokenId },
        }, cancellationToken);
        return IsDenied(response.Item, tokenId);
    }

    /// <summary>The revoked tokens on a client's item.</summary>
    internal static HashSet<string> Revoked(Dictionary<string, AttributeValue>? item) =>
        Entries(item)?.Keys.ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>(StringComparer.Ordinal);

    internal static bool IsDenied(Dictionary<string, AttributeValue>? item, string tokenId) => Entries(item)?.ContainsKey(tokenId) == true;

    /// <summary>The client's map of revoked jti → expiry, if the item has one.</summary>
    private static Dictionary<string, AttributeValue>? Entries(Dictionary<string, AttributeValue>? item) =>
        item is not null && item.TryGetValue(RevokedAttribute, out var revoked) ? revoked.M : null;

    private static string Epoch(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
