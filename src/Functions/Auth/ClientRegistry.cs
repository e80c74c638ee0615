using System.Globalization;
using System.Security.Cryptography;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>Requests per window; the client's limit, carried in its access tokens.</summary>
public sealed record RateLimit(int Requests, int WindowSeconds)
{
    public static readonly RateLimit Default = new(100, 60);

    public const int MaxWindowSeconds = 86_400;

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsValid => Requests is > 0 and <= 1_000_000 && WindowSeconds is > 0 and <= MaxWindowSeconds;
}

/// <summary>What a client is registered with.</summary>
public sealed record ClientRegistration(string Name, IReadOnlyList<string> Scopes, RateLimit RateLimit, bool RefreshTokens = false);

/// <summary>A registered OAuth2 client. The secret itself is never stored, only its hash.</summary>
public sealed record OAuthClient(
    string ClientId,
    string Name,
    IReadOnlyList<string> Scopes,
    RateLimit RateLimit,
    bool RefreshTokens,
    bool Disabled,
    DateTimeOffset CreatedAt,
    string SecretHash,
    DateTimeOffset? RefreshTokensRevokedBefore);

/// <summary>The clients table (HASH clientId): registration, look-up, disabling and secret rotation.</summary>
public sealed class ClientRegistry(IAmazonDynamoDB dynamo, ResourceNames names, AuthOptions options, TimeProvider time)
{
    private string Table => names.ClientsTable;

    /// <summary>Client ids we hand out, and the only ones we look up: they also travel in HTTP Basic credentials.</summary>
    public static bool IsWellFormedClientId(string? clientId) =>
        clientId is { Length: > 0 and <= 128 } && clientId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~');

    public static string NewClientId() => "c-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));

    /// <summary>Registers a client; null when the client id is taken. The secret is returned once, never stored.</summary>
    public async Task<(OAuthClient Client, string Secret)?> RegisterAsync(ClientRegistration registration, string? clientId = null,
        string? secret = null, CancellationToken cancellationToken = default)
    {
        clientId ??= NewClientId();
        secret ??= ClientSecrets.Generate();
        if (!IsWellFormedClientId(clientId))
        {
            throw new ArgumentException($"'{clientId}' is not a well-formed client id.", nameof(clientId));
        }

        var client = new OAuthClient(clientId, registration.Name, [.. registration.Scopes.Distinct(StringComparer.Ordinal)],
            registration.RateLimit, registration.RefreshTokens, Disabled: false, time.GetUtcNow(),
            ClientSecrets.Hash(secret, options.SecretHashIterations), RefreshTokensRevokedBefore: null);
        try
        {
            await dynamo.PutItemAsync(new PutItemRequest
            {
                TableName = Table,
                Item = ToItem(client),
                ConditionExpression = "attribute_not_exists(clientId)",
            }, cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }

        return (client, secret);
    }

    public async Task<OAuthClient?> FindAsync(string clientId, CancellationToken cancellationToken = default)
    {
        if (!IsWellFormedClientId(clientId))
        {
            return null;
        }

        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = Table,
            Key = Key(clientId),
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item ? FromItem(item) : null;
    }

    public async Task<IReadOnlyList<OAuthClient>> ListAsync(CancellationToken cancellationToken = default)
    {
        var clients = new List<OAuthClient>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await dynamo.ScanAsync(new ScanRequest { TableName = Table, ExclusiveStartKey = start }, cancellationToken);
            clients.AddRange((page.Items ?? []).Select(FromItem));
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);

        return [.. clients.OrderBy(c => c.CreatedAt).ThenBy(c => c.ClientId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Stops the client from getting tokens and revokes every refresh token family it holds (those issued before
    /// now, which is all of them). Null when there is no such client.
    /// </summary>
    public async Task<OAuthClient?> DisableAsync(string clientId, CancellationToken cancellationToken = default)
    {
        if (!IsWellFormedClientId(clientId))
        {
            return null;
        }

        try
        {
            var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = Table,
                Key = Key(clientId),
                UpdateExpression = "SET disabled = :true, refreshTokensRevokedBefore = :now",
                ConditionExpression = "attribute_exists(clientId)",
                ExpressionAttributeValues = new()
                {
                    [":true"] = new AttributeValue { BOOL = true },
                    [":now"] = new AttributeValue { N = Epoch(time.GetUtcNow()) },
                },
                ReturnValues = ReturnValue.ALL_NEW,
            }, cancellationToken);
            return FromItem(response.Attributes);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    /// <summary>Replaces the client's secret; the old one stops working at once. Null when there is no such client.</summary>
    public async Task<(OAuthClient Client, string Secret)?> RotateSecretAsync(string clientId, CancellationToken cancellationToken = default)
    {
        if (!IsWellFormedClientId(clientId))
        {
            return null;
        }

        var secret = ClientSecrets.Generate();
        try
        {
            var response = await dynamo.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = Table,
                Key = Key(clientId),
                UpdateExpression = "SET secretHash = :hash, secretRotatedAt = :now",
                ConditionExpression = "attribute_exists(clientId)",
                ExpressionAttributeValues = new()
                {
                    [":hash"] = new AttributeValue { S = ClientSecrets.Hash(secret, options.SecretHashIterations) },
                    [":now"] = new AttributeValue { S = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture) },
                },
                ReturnValues = ReturnValue.ALL_NEW,
            }, cancellationToken);
            return (FromItem(response.Attributes), secret);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    private static Dictionary<string, AttributeValue> Key(string clientId) => new() { ["clientId"] = new AttributeValue { S = clientId } };

    private static string Epoch(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, AttributeValue> ToItem(OAuthClient client) => new()
    {
        ["clientId"] = new AttributeValue { S = client.ClientId },
        ["name"] = new AttributeValue { S = client.Name },
        ["scopes"] = new AttributeValue { L = [.. client.Scopes.Select(s => new AttributeValue { S = s })] },
        ["rateLimitRequests"] = new AttributeValue { N = client.RateLimit.Requests.ToString(CultureInfo.InvariantCulture) },
        ["rateLimitWindowSeconds"] = new AttributeValue { N = client.RateLimit.WindowSeconds.ToString(CultureInfo.InvariantCulture) },
        ["refreshTokens"] = new AttributeValue { BOOL = client.RefreshTokens },
        ["disabled"] = new AttributeValue { BOOL = client.Disabled },
        ["createdAt"] = new AttributeValue { S = client.CreatedAt.ToString("O", CultureInfo.InvariantCulture) },
        ["secretHash"] = new AttributeValue { S = client.SecretHash },
    };

    private static OAuthClient FromItem(Dictionary<string, AttributeValue> item) => new(
        item["clientId"].S,
        item.TryGetValue("name", out var name) ? name.S ?? "" : "",
        item.TryGetValue("scopes", out var scopes) ? [.. (scopes.L ?? []).Select(s => s.S)] : [],
        new RateLimit(
            int.Parse(item["rateLimitRequests"].N, CultureInfo.InvariantCulture),
            int.Parse(item["rateLimitWindowSeconds"].N, CultureInfo.InvariantCulture)),
        item.TryGetValue("refreshTokens", out var refresh) && refresh.BOOL == true,
        item.TryGetValue("disabled", out var disabled) && disabled.BOOL == true,
        DateTimeOffset.Parse(item["createdAt"].S, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
        item["secretHash"].S,
        item.TryGetValue("refreshTokensRevokedBefore", out var before) && before.N is { } n
            ? DateTimeOffset.FromUnixTimeSeconds(long.Parse(n, CultureInfo.InvariantCulture))
            : null);
}
