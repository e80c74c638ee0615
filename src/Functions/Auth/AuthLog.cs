namespace OrderProcessing.Functions.Auth;

/// <summary>The auth service's log events, with their structured fields.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(LogLevel.Information, "Access token {TokenId} issued to client {ClientId} with scope {Scope}")]
    public static partial void AccessTokenIssued(this ILogger logger, string tokenId, string clientId, string scope);

    [LoggerMessage(LogLevel.Information, "Refresh token rotated for client {ClientId} in family {FamilyId}; access token {TokenId}")]
    public static partial void RefreshTokenRotated(this ILogger logger, string clientId, string familyId, string tokenId);

    [LoggerMessage(LogLevel.Warning, "Refresh token reuse by client {ClientId}: family {FamilyId} revoked as possibly stolen")]
    public static partial void RefreshTokenReused(this ILogger logger, string clientId, string familyId);

    [LoggerMessage(LogLevel.Information, "Refresh token family {FamilyId} of client {ClientId} revoked ({Reason})")]
    public static partial void FamilyRevoked(this ILogger logger, string familyId, string clientId, string reason);

    [LoggerMessage(LogLevel.Information, "Access token {TokenId} of client {ClientId} revoked")]
    public static partial void AccessTokenRevoked(this ILogger logger, string tokenId, string clientId);

    [LoggerMessage(LogLevel.Information, "Client authentication failed for {ClientId}")]
    public static partial void ClientAuthenticationFailed(this ILogger logger, string clientId);

    [LoggerMessage(LogLevel.Warning, "Client {ClientId} is locked out after {Failures} failed authentications")]
    public static partial void ClientLockedOut(this ILogger logger, string clientId, int failures);

    [LoggerMessage(LogLevel.Error, "{Operation} failed: a dependency is unavailable")]
    public static partial void DependencyUnavailable(this ILogger logger, Exception exception, string operation);

    [LoggerMessage(LogLevel.Information, "Client {ClientId} registered by {AdminClientId} with scopes {Scopes}")]
    public static partial void ClientRegistered(this ILogger logger, string clientId, string adminClientId, string scopes);

    [LoggerMessage(LogLevel.Warning, "Client {ClientId} disabled by {AdminClientId}; its refresh token families are revoked")]
    public static partial void ClientDisabled(this ILogger logger, string clientId, string adminClientId);

    [LoggerMessage(LogLevel.Information, "Secret of client {ClientId} rotated by {AdminClientId}")]
    public static partial void ClientSecretRotated(this ILogger logger, string clientId, string adminClientId);

    [LoggerMessage(LogLevel.Information, "Local signing key {KeyId} created in {Directory}")]
    public static partial void LocalKeyCreated(this ILogger logger, string keyId, string directory);

    [LoggerMessage(LogLevel.Information, "Local signing key rotated: new key {KeyId}")]
    public static partial void LocalKeyRotated(this ILogger logger, string keyId);
}
