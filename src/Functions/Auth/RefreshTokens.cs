using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.IdentityModel.Tokens;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>A refresh token as found by its hash.</summary>
public sealed record StoredRefreshToken(string FamilyId, string ClientId, IReadOnlyList<string> Scopes, DateTimeOffset ExpiresAt, bool Rotated);

/// <summary>A chain of refresh tokens, each replacing the one before; revoked as a whole.</summary>
public sealed record TokenFamily(string FamilyId, string ClientId, DateTimeOffset CreatedAt, bool Revoked);

/// <summary>How a rotation ended.</summary>
public enum RotationOutcome
{
    Rotated,

    /// <summary>The token had already been used: someone else holds a copy, so the family is revoked.</summary>
    Reused,

    /// <summary>The family was revoked meanwhile.</summary>
    FamilyRevoked,
}

/// <summary>
/// Refresh tokens in the tokens table. The token is 256 random bits handed out once; only its SHA-256 is stored
/// ("refresh#&lt;hash&gt;"; a fast hash suffices for a random secret). Tokens of one grant form a family
/// ("family#&lt;id&gt;") that also remembers the newest access token issued with it, so revoking the family revokes
/// that access token too (RFC 7009 §2.1).
/// </summary>
public sealed class RefreshTokens(IAmazonDynamoDB dynamo, ResourceNames names, AuthOptions options, TimeProvider time,
    DenyList denyList, ILogger<RefreshTokens> logger)
{
    private string Table => names.TokensTable;

    /// <summary>Starts a family with its first refresh token; returns the token.</summary>
    public async Task<string> StartFamilyAsync(string clientId, IReadOnlyList<string> scopes, IssuedAccessToken access,
        CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var familyId = Guid.CreateVersion7(now).ToString("N");
        var token = NewToken();
        var expires = now + options.RefreshTokenLifetime;
        await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new TransactWriteItem
                {
                    Put = new Put
                    {
                        TableName = Table,
                        Item = new()
                        {
                            ["pk"] = S(FamilyKey(familyId)),
                            ["clientId"] = S(clientId),
                            ["createdAt"] = N(now.ToUnixTimeSeconds()),
                            ["revoked"] = new AttributeValue { BOOL = false },
                            ["accessTokenId"] = S(access.TokenId),
                            ["accessExpiresAt"] = N(access.ExpiresAt.ToUnixTimeSeconds()),
                            ["ttl"] = N(expires.ToUnixTimeSeconds()),
                        },
                    },
                },
                new TransactWriteItem { Put = new Put { TableName = Table, Item = TokenItem(token, familyId, clientId, scopes, expires) } },
            ],
        }, cancellationToken);
        return token;
    }

    public async Task<StoredRefreshToken?> FindAsync(string token, CancellationToken cancellationToken = default)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = new() { ["pk"] = S(TokenKey(token)) },
            ConsistentRead = true,
        }, cancellationToken);
        if (response.Item is not { Count: > 0 } item)
        {
            return null;
        }

        return new StoredRefreshToken(
            item["familyId"].S,
            item["clientId"].S,
            item["scope"].S.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(item["expiresAt"].N, CultureInfo.InvariantCulture)),
            item.TryGetValue("rotatedAt", out var rotated) && rotated.N is not null);
    }

    public async Task<TokenFamily?> FindFamilyAsync(string familyId, CancellationToken cancellationToken = default)
    {
        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = new() { ["pk"] = S(FamilyKey(familyId)) },
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item
            ? new TokenFamily(familyId, item["clientId"].S,
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(item["createdAt"].N, CultureInfo.InvariantCulture)),
                item.TryGetValue("revoked", out var revoked) && revoked.BOOL == true)
            : null;
    }

    /// <summary>
    /// Replaces <paramref name="presented"/> with a new token in one transaction: the old token is marked used only if
    /// it was unused, and the family records the new access token only if it is not revoked. Losing that race means
    /// the token was used twice, which is handled as theft.
    /// </summary>
    public async Task<(RotationOutcome Outcome, string? Token)> RotateAsync(string presented, StoredRefreshToken stored,
        IReadOnlyList<string> scopes, IssuedAccessToken access, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var token = NewToken();
        var expires = now + options.RefreshTokenLifetime;
        try
        {
            await dynamo.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems =
                [
                    new TransactWriteItem
                    {
                        Update = new Update
                        {
                            TableName = Table,
                            Key = new() { ["pk"] = S(TokenKey(presented)) },
                            UpdateExpression = "SET rotatedAt = :now",
                            ConditionExpression = "attribute_exists(pk) AND attribute_not_exists(rotatedAt)",
                            ExpressionAttributeValues = new() { [":now"] = N(now.ToUnixTimeSeconds()) },
                        },
                    },
                    new TransactWriteItem
                    {
                        Put = new Put { TableName = Table, Item = TokenItem(token, stored.FamilyId, stored.ClientId, scopes, expires) },
                    },
                    new TransactWriteItem
                    {
                        Update = new Update
                        {
                            TableName = Table,
                            Key = new() { ["pk"] = S(FamilyKey(stored.FamilyId)) },
                            UpdateExpression = "SET accessTokenId = :jti, accessExpiresAt = :exp, #ttl = :ttl",
                            ConditionExpression = "attribute_exists(pk) AND revoked = :false",
                            ExpressionAttributeNames = new() { ["#ttl"] = "ttl" },
                            ExpressionAttributeValues = new()
                            {
                                [":jti"] = S(access.TokenId),
                                [":exp"] = N(access.ExpiresAt.ToUnixTimeSeconds()),
                                [":ttl"] = N(expires.ToUnixTimeSeconds()),
                                [":false"] = new AttributeValue { BOOL = false },
                            },
                        },
                    },
                ],
            }, cancellationToken);
            return (RotationOutcome.Rotated, token);
        }
        catch (TransactionCanceledException e)
        {
            var reasons = e.CancellationReasons ?? [];
            if (reasons.Count > 0 && reasons[0].Code == "ConditionalCheckFailed")
            {
                await RevokeFamilyAsync(stored.FamilyId, "reuse", cancellationToken);
                return (RotationOutcome.Reused, null);
            }

            if (reasons.Count > 2 && reasons[2].Code == "ConditionalCheckFailed")
            {
                return (RotationOutcome.FamilyRevoked, null);
            }

            throw;
        }
    }

    /// <summary>Revokes the family and denies the newest access token issued with it.</summary>
    public async Task RevokeFamilyAsync(string familyId, string reason, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = Table,
            Key = new() { ["pk"] = S(FamilyKey(familyId)) },
            UpdateExpression = "SET revoked = :true, revokedAt = :now, revokedReason = :reason",
            ConditionExpression = "attribute_exists(pk)",
            ExpressionAttributeValues = new()
            {
                [":true"] = new AttributeValue { BOOL = true },
                [":now"] = N(now.ToUnixTimeSeconds()),
                [":reason"] = S(reason),
            },
            ReturnValues = ReturnValue.ALL_NEW,
        }, cancellationToken);
        var family = response.Attributes;
        var clientId = family["clientId"].S;
        logger.FamilyRevoked(familyId, clientId, reason);
        if (family.TryGetValue("accessTokenId", out var jti) && family.TryGetValue("accessExpiresAt", out var exp))
        {
            await denyList.DenyAsync(jti.S, clientId,
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(exp.N, CultureInfo.InvariantCulture)), cancellationToken);
        }
    }

    private static string NewToken() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    private static string TokenKey(string token) => "refresh#" + Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string FamilyKey(string familyId) => "family#" + familyId;

    private static Dictionary<string, AttributeValue> TokenItem(string token, string familyId, string clientId,
        IReadOnlyList<string> scopes, DateTimeOffset expires) => new()
        {
            ["pk"] = S(TokenKey(token)),
            ["familyId"] = S(familyId),
            ["clientId"] = S(clientId),
            ["scope"] = S(string.Join(' ', scopes)),
            ["expiresAt"] = N(expires.ToUnixTimeSeconds()),
            ["ttl"] = N(expires.ToUnixTimeSeconds()),
        };

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
