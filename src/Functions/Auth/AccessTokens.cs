using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;
using OrderProcessing.Functions.Auth.Signing;

namespace OrderProcessing.Functions.Auth;

/// <summary>Claim names of our access tokens (RFC 9068 plus the client's rate limit), kept unmapped.</summary>
public static class AuthClaims
{
    public const string Subject = "sub";
    public const string ClientId = "client_id";
    public const string Scope = "scope";
    public const string TokenId = "jti";
    public const string RateLimit = "rate_limit";
}

/// <summary>An access token as handed out, with what the server keeps to revoke it.</summary>
public sealed record IssuedAccessToken(string Token, string TokenId, DateTimeOffset ExpiresAt, IReadOnlyList<string> Scopes)
{
    public string Scope => string.Join(' ', Scopes);
}

/// <summary>Issues access tokens: RFC 9068 JWTs signed with the current signing key.</summary>
public sealed class AccessTokenIssuer(ISigningKeys keys, AuthOptions options, TimeProvider time)
{
    public async Task<IssuedAccessToken> IssueAsync(string issuer, OAuthClient client, IReadOnlyList<string> scopes,
        CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var expires = now + options.AccessTokenLifetime;
        var tokenId = Guid.CreateVersion7(now).ToString("N");
        var payload = new JsonObject
        {
            ["iss"] = issuer,
            ["aud"] = options.Audience,
            [AuthClaims.Subject] = client.ClientId,
            [AuthClaims.ClientId] = client.ClientId,
            [AuthClaims.Scope] = string.Join(' ', scopes),
            [AuthClaims.TokenId] = tokenId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            [AuthClaims.RateLimit] = new JsonObject
            {
                ["requests"] = client.RateLimit.Requests,
                ["window_seconds"] = client.RateLimit.WindowSeconds,
            },
        };
        return new IssuedAccessToken(await Jws.SignAsync(keys, payload, cancellationToken), tokenId,
            DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()), scopes);
    }
}

/// <summary>Compact JWS (RFC 7515) signed ES256 with the current key of an <see cref="ISigningKeys"/>.</summary>
public static class Jws
{
    /// <summary>RFC 9068 media type of access tokens; validation accepts no other, so no other kind of JWT can pass as one.</summary>
    public const string AccessTokenType = "at+jwt";

    public static Task<string> SignAsync(ISigningKeys keys, JsonObject payload, CancellationToken cancellationToken = default) =>
        SignAsync(keys, payload, AccessTokenType, cancellationToken);

    /// <summary>Signs with any "typ" (tests use it to make tokens that must be refused).</summary>
    public static async Task<string> SignAsync(ISigningKeys keys, JsonObject payload, string type, CancellationToken cancellationToken = default)
    {
        var set = await keys.GetAsync(cancellationToken);
        var header = new JsonObject { ["alg"] = EcKeys.Algorithm, ["typ"] = type, ["kid"] = set.CurrentKeyId };
        var signingInput = $"{Encode(header)}.{Encode(payload)}";
        var signature = await keys.SignAsync(set.CurrentKeyId, Encoding.ASCII.GetBytes(signingInput), cancellationToken);
        return $"{signingInput}.{Base64UrlEncoder.Encode(signature)}";
    }

    // The default encoder would write "at+jwt" as "at\u002Bjwt": valid, but not what anyone expects to read.
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Encode(JsonObject json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json.ToJsonString(Compact)));
}

/// <summary>Reads what the auth service put into a validated token.</summary>
public static class ClaimsPrincipalExtensions
{
    /// <summary>The client the token was issued to (its subject). Only call it behind RequireAuthorization.</summary>
    public static string ClientId(this System.Security.Claims.ClaimsPrincipal user) =>
        user.FindFirst(AuthClaims.Subject)?.Value
        ?? throw new InvalidOperationException("The caller is not authenticated: there is no token subject.");

    public static IReadOnlySet<string> Scopes(this System.Security.Claims.ClaimsPrincipal user) =>
        (user.FindFirst(AuthClaims.Scope)?.Value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    public static bool HasScope(this System.Security.Claims.ClaimsPrincipal user, string scope) => user.Scopes().Contains(scope);

    /// <summary>The rate limit the token carries; null when it has none or it is malformed.</summary>
    public static RateLimit? RateLimit(this System.Security.Claims.ClaimsPrincipal user)
    {
        if (user.FindFirst(AuthClaims.RateLimit)?.Value is not { Length: > 0 } json)
        {
            return null;
        }

        try
        {
            var node = JsonNode.Parse(json);
            var limit = new RateLimit(
                node?["requests"]?.GetValue<int>() ?? 0,
                node?["window_seconds"]?.GetValue<int>() ?? 0);
            return limit.IsValid ? limit : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
