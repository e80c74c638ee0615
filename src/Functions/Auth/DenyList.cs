using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Revoked access tokens by jti in the tokens table ("deny#&lt;jti&gt;"), each kept until the token would have expired
/// (DynamoDB TTL). Checked with a strongly consistent read on every request and never cached, so a revocation
/// holds on the very next request in every function.
/// </summary>
public sealed class DenyList(IAmazonDynamoDB dynamo, ResourceNames names, TimeProvider time)
{
    public async Task DenyAsync(string tokenId, string clientId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        if (expiresAt <= time.GetUtcNow())
        {
            return; // Expired tokens are refused anyway.
        }

        await dynamo.PutItemAsync(new PutItemRequest
        {
            TableName = names.TokensTable,
            Item = new()
            {
                ["pk"] = new AttributeValue { S = Key(tokenId) },
                ["clientId"] = new AttributeValue { S = clientId },
                ["revokedAt"] = new AttributeValue { S = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) },
                ["ttl"] = new AttributeValue { N = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) },
            },
        }, cancellationToken);
    }

    public async Task<bool> IsDeniedAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = names.TokensTable,
            Key = new() { ["pk"] = new AttributeValue { S = Key(tokenId) } },
            ConsistentRead = true,
            ProjectionExpression = "pk",
        }, cancellationToken);
        return response.Item is { Count: > 0 };
    }

    private static string Key(string tokenId) => "deny#" + tokenId;
}
