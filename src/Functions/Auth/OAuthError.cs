using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Metadata;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// An RFC 6749 §5.2 error response (RFC 7009 for revocation): JSON {error, error_description}, never cached.
/// invalid_client is a 401 with WWW-Authenticate naming the Basic scheme.
/// </summary>
public sealed class OAuthError : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
{
    public const string Realm = "orderprocessing";

    private OAuthError(int statusCode, string error, string description, TimeSpan? retryAfter = null)
    {
        StatusCode = statusCode;
        Error = error;
        Description = description;
        RetryAfter = retryAfter;
    }

    public int StatusCode { get; }

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string Error { get; }

    public string Description { get; }

    public TimeSpan? RetryAfter { get; }

    public static OAuthError InvalidRequest(string description) => new(400, "invalid_request", description);

    public static OAuthError InvalidClient(string description) => new(401, "invalid_client", description);

    public static OAuthError InvalidGrant(string description) => new(400, "invalid_grant", description);

    public static OAuthError UnauthorizedClient(string description) => new(400, "unauthorized_client", description);

    public static OAuthError UnsupportedGrantType(string description) => new(400, "unsupported_grant_type", description);

    public static OAuthError InvalidScope(string description) => new(400, "invalid_scope", description);

    /// <summary>Too many failed authentications for this client id: refused without checking the secret.</summary>
    public static OAuthError LockedOut(TimeSpan retryAfter) => new(429, "invalid_client",
        "Too many failed client authentications; try again later.", retryAfter);

    /// <summary>A dependency is down: the client may retry (RFC 6749's temporarily_unavailable).</summary>
    public static OAuthError TemporarilyUnavailable() => new(503, "temporarily_unavailable",
        "The authorization server cannot handle the request right now; try again shortly.", TimeSpan.FromSeconds(1));

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        if (StatusCode == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = $"Basic realm=\"{Realm}\", charset=\"UTF-8\"";
        }

        if (RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        response.ContentType = "application/json;charset=UTF-8";
        await JsonSerializer.SerializeAsync(response.Body, new OAuthErrorResponse(Error, Description), OAuthJson.Default.OAuthErrorResponse,
            httpContext.RequestAborted);
    }

    public static void PopulateMetadata(System.Reflection.MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(400, typeof(OAuthErrorResponse), ["application/json"]));
}

/// <summary>Body of an OAuth error.</summary>
public sealed record OAuthErrorResponse(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string ErrorDescription);

/// <summary>RFC 6749 §5.1 successful token response.</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] long ExpiresIn,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken);

/// <summary>A public key of the JWKS (RFC 7517).</summary>
public sealed record JwkResponse(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg);

public sealed record JwksResponse([property: JsonPropertyName("keys")] IReadOnlyList<JwkResponse> Keys);

/// <summary>RFC 8414 authorization server metadata.</summary>
public sealed record ServerMetadataResponse(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
    [property: JsonPropertyName("jwks_uri")] string JwksUri,
    [property: JsonPropertyName("revocation_endpoint")] string RevocationEndpoint,
    [property: JsonPropertyName("scopes_supported")] IReadOnlyList<string> ScopesSupported,
    [property: JsonPropertyName("response_types_supported")] IReadOnlyList<string> ResponseTypesSupported,
    [property: JsonPropertyName("grant_types_supported")] IReadOnlyList<string> GrantTypesSupported,
    [property: JsonPropertyName("token_endpoint_auth_methods_supported")] IReadOnlyList<string> TokenEndpointAuthMethodsSupported,
    [property: JsonPropertyName("revocation_endpoint_auth_methods_supported")] IReadOnlyList<string> RevocationEndpointAuthMethodsSupported,
    [property: JsonPropertyName("access_token_signing_alg_values_supported")] IReadOnlyList<string> SigningAlgValuesSupported);

[JsonSerializable(typeof(OAuthErrorResponse))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(JwksResponse))]
[JsonSerializable(typeof(ServerMetadataResponse))]
internal sealed partial class OAuthJson : JsonSerializerContext;
