using System.Globalization;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// Settings of the auth service, read from the environment variables template.yaml sets (AUTH_*, SIGNING_KEY_*).
/// Every value has a default that suits a local run.
/// </summary>
public sealed record AuthOptions
{
    public const string DefaultAudience = "orderprocessing";

    /// <summary>The "iss" of every token; when null it is the base URL of the request (scheme://host), for local runs.</summary>
    public string? Issuer { get; init; }

    public string Audience { get; init; } = DefaultAudience;

    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromMinutes(15);

    public TimeSpan RefreshTokenLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Tolerated difference between our clock and the issuer's (they are the same service, so small).</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>KMS key id, ARN or alias of the current signing key; null means the local key store is used.</summary>
    public string? SigningKeyId { get; init; }

    /// <summary>KMS keys that signed tokens still alive: published in the JWKS and accepted, never used to sign.</summary>
    public IReadOnlyList<string> PreviousSigningKeyIds { get; init; } = [];

    /// <summary>Where the local key store keeps its keys; every instance of the local host must see the same folder.</summary>
    public string LocalKeyDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "orderprocessing", "signing-keys");

    /// <summary>PBKDF2-HMAC-SHA256 iterations for new client secret hashes (OWASP 2023: 600,000).</summary>
    public int SecretHashIterations { get; init; } = ClientSecrets.DefaultIterations;

    /// <summary>Failed client authentications tolerated per client id and window before the client id is locked out.</summary>
    public int FailedAuthenticationLimit { get; init; } = 5;

    public TimeSpan FailedAuthenticationWindow { get; init; } = TimeSpan.FromMinutes(5);

    public static AuthOptions From(IConfiguration configuration) => new()
    {
        Issuer = NonEmpty(configuration["AUTH_ISSUER"])?.TrimEnd('/'),
        Audience = NonEmpty(configuration["AUTH_AUDIENCE"]) ?? DefaultAudience,
        AccessTokenLifetime = TimeSpan.FromSeconds(Number(configuration, "AUTH_ACCESS_TOKEN_SECONDS", 900)),
        RefreshTokenLifetime = TimeSpan.FromSeconds(Number(configuration, "AUTH_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)),
        ClockSkew = TimeSpan.FromSeconds(Number(configuration, "AUTH_CLOCK_SKEW_SECONDS", 30)),
        SigningKeyId = NonEmpty(configuration["SIGNING_KEY_ID"]),
        PreviousSigningKeyIds = (configuration["SIGNING_PREVIOUS_KEY_IDS"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        LocalKeyDirectory = NonEmpty(configuration["AUTH_LOCAL_KEY_DIR"])
            ?? Path.Combine(Path.GetTempPath(), "orderprocessing", "signing-keys"),
        SecretHashIterations = (int)Number(configuration, "AUTH_SECRET_HASH_ITERATIONS", ClientSecrets.DefaultIterations),
        FailedAuthenticationLimit = (int)Number(configuration, "AUTH_FAILED_AUTH_LIMIT", 5),
        FailedAuthenticationWindow = TimeSpan.FromSeconds(Number(configuration, "AUTH_FAILED_AUTH_WINDOW_SECONDS", 300)),
    };

    /// <summary>The issuer for a request: the configured one, else the request's own base URL.</summary>
    public string IssuerFor(HttpRequest request) =>
        Issuer ?? $"{request.Scheme}://{request.Host.Value}{request.PathBase.Value}".TrimEnd('/');

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static long Number(IConfiguration configuration, string key, long fallback) =>
        configuration[key] is { Length: > 0 } text
            ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new InvalidOperationException($"{key} must be a positive whole number, not '{text}'.")
            : fallback;
}
