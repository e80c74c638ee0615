using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>Client credentials as presented (RFC 6749 §2.3.1), or why they could not be read.</summary>
public sealed record PresentedCredentials(string? ClientId, string? Secret, bool UsedBasic, string? Problem)
{
    /// <summary>HTTP Basic (client id and secret form-urlencoded first, as RFC 6749 §2.3.1 says) or the form fields; never both.</summary>
    public static PresentedCredentials From(HttpRequest request, IFormCollection form)
    {
        var header = request.Headers.Authorization.ToString();
        var formId = form.TryGetValue("client_id", out var id) ? id.ToString() : null;
        var formSecret = form.TryGetValue("client_secret", out var secret) ? secret.ToString() : null;
        if (header.Length == 0)
        {
            return new PresentedCredentials(formId, formSecret, UsedBasic: false, null);
        }

        if (!AuthenticationHeaderValue.TryParse(header, out var parsed) || !string.Equals(parsed.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
        {
            return new PresentedCredentials(null, null, UsedBasic: true, "The Authorization header must use the Basic scheme.");
        }

        if (formSecret is not null)
        {
            return new PresentedCredentials(null, null, UsedBasic: true, "Use one client authentication method, not both Basic and client_secret.");
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(parsed.Parameter ?? ""));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return new PresentedCredentials(null, null, UsedBasic: true, "The Basic credentials are not valid base64 UTF-8.");
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return new PresentedCredentials(null, null, UsedBasic: true, "The Basic credentials have no colon between client id and secret.");
        }

        var clientId = FormDecode(decoded[..colon]);
        if (formId is not null && formId != clientId)
        {
            return new PresentedCredentials(null, null, UsedBasic: true, "client_id differs from the client in the Authorization header.");
        }

        return new PresentedCredentials(clientId, FormDecode(decoded[(colon + 1)..]), UsedBasic: true, null);
    }

    private static string FormDecode(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));
}

/// <summary>The result of authenticating a client.</summary>
public abstract record ClientAuthenticationResult
{
    public sealed record Authenticated(OAuthClient Client) : ClientAuthenticationResult;

    public sealed record Failed(string Description) : ClientAuthenticationResult;

    public sealed record LockedOut(TimeSpan RetryAfter) : ClientAuthenticationResult;
}

/// <summary>
/// Authenticates clients by id and secret. Failed attempts are counted per client id in the rate-limits table
/// ("auth-failures#&lt;client&gt;#&lt;window start&gt;"); past the limit, the client id is locked out until the window
/// ends, and the secret is not even checked. Unknown client ids cost the same PBKDF2 work as known ones, so
/// timing does not reveal which ids exist.
/// </summary>
public sealed class ClientAuthentication(ClientRegistry clients, IAmazonDynamoDB dynamo, ResourceNames names, AuthOptions options,
    TimeProvider time, ILogger<ClientAuthentication> logger)
{
    private readonly Lazy<string> _decoyHash = new(() => ClientSecrets.Hash(ClientSecrets.Generate(), options.SecretHashIterations));

    public async Task<ClientAuthenticationResult> AuthenticateAsync(string clientId, string secret, CancellationToken cancellationToken)
    {
        var window = CurrentWindow();
        var lookup = clients.FindAsync(clientId, cancellationToken);
        var failures = FailuresAsync(clientId, window, cancellationToken);
        await Task.WhenAll(lookup, failures);
        var client = await lookup;
        if (client is not null && await failures >= options.FailedAuthenticationLimit)
        {
            logger.ClientLockedOut(clientId, await failures);
            return new ClientAuthenticationResult.LockedOut(window.End - time.GetUtcNow());
        }

        if (!ClientSecrets.Verify(secret, client?.SecretHash ?? _decoyHash.Value) || client is null)
        {
            if (client is not null)
            {
                await RecordFailureAsync(clientId, window, cancellationToken);
            }

            logger.ClientAuthenticationFailed(ClientRegistry.IsWellFormedClientId(clientId) ? clientId : "(malformed)");
            return new ClientAuthenticationResult.Failed("Client authentication failed.");
        }

        return client.Disabled
            ? new ClientAuthenticationResult.Failed("The client is disabled.")
            : new ClientAuthenticationResult.Authenticated(client);
    }

    private (string Key, DateTimeOffset End) CurrentWindow()
    {
        var seconds = (long)options.FailedAuthenticationWindow.TotalSeconds;
        var start = time.GetUtcNow().ToUnixTimeSeconds() / seconds * seconds;
        return (start.ToString(CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeSeconds(start + seconds));
    }

    private async Task<int> FailuresAsync(string clientId, (string Key, DateTimeOffset End) window, CancellationToken cancellationToken)
    {
        if (!ClientRegistry.IsWellFormedClientId(clientId))
        {
            return 0;
        }

        var response = await dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = new() { ["pk"] = new AttributeValue { S = Key(clientId, window.Key) } },
            ConsistentRead = true,
        }, cancellationToken);
        return response.Item is { Count: > 0 } item && item.TryGetValue("count", out var count)
            ? int.Parse(count.N, CultureInfo.InvariantCulture)
            : 0;
    }

    private Task<UpdateItemResponse> RecordFailureAsync(string clientId, (string Key, DateTimeOffset End) window, CancellationToken cancellationToken) =>
        dynamo.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = names.RateLimitsTable,
            Key = new() { ["pk"] = new AttributeValue { S = Key(clientId, window.Key) } },
            UpdateExpression = "ADD #count :one SET #ttl = :ttl",
            ExpressionAttributeNames = new() { ["#count"] = "count", ["#ttl"] = "ttl" },
            ExpressionAttributeValues = new()
            {
                [":one"] = new AttributeValue { N = "1" },
                [":ttl"] = new AttributeValue { N = (window.End.ToUnixTimeSeconds() + 60).ToString(CultureInfo.InvariantCulture) },
            },
        }, cancellationToken);

    private static string Key(string clientId, string window) => $"auth-failures#{clientId}#{window}";
}
