using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrderProcessing.Functions.Auth.Signing;

namespace OrderProcessing.Functions.Auth;

/// <summary>The outcome of validating an access token: a principal, or why the token was refused.</summary>
public sealed record AccessTokenValidation(ClaimsPrincipal? Principal, string? Error)
{
    public bool Succeeded => Principal is not null;
}

/// <summary>
/// The rules every access token must pass, in one place: ES256 only (so "none" and HS/public-key confusion are
/// refused), typ at+jwt, a key from our JWKS, our issuer and audience, lifetime with a small clock skew, a jti,
/// and not on the deny-list. The HTTP pipeline applies them through JwtBearer; <see cref="ValidateAsync"/> applies
/// them to a token from elsewhere (the WebSocket $connect query string).
/// </summary>
public sealed class AccessTokenValidator(ISigningKeys keys, DenyList denyList, AuthOptions options, TimeProvider time,
    IHttpContextAccessor httpContext)
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <summary>Parameters without signing keys (JwtBearer adds them from its configuration manager).</summary>
    public TokenValidationParameters Parameters { get; } = CreateParameters(options, time, httpContext);

    public async Task<AccessTokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default)
    {
        var parameters = Parameters.Clone();
        parameters.IssuerSigningKeys = (await keys.GetAsync(cancellationToken)).Keys;
        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return new AccessTokenValidation(null, Describe(result.Exception));
        }

        var principal = new ClaimsPrincipal(result.ClaimsIdentity);
        return await RevocationErrorAsync(principal, cancellationToken) is { } error
            ? new AccessTokenValidation(null, error)
            : new AccessTokenValidation(principal, null);
    }

    public const string Revoked = "The access token has been revoked.";

    /// <summary>Null when the validated token may be used; otherwise why not (no jti, or revoked).</summary>
    public async Task<string?> RevocationErrorAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (MissingTokenIdError(principal) is { } error)
        {
            return error;
        }

        var tokenId = principal.FindFirst(AuthClaims.TokenId)!.Value;
        return await denyList.IsDeniedAsync(tokenId, principal.ClientId(), cancellationToken) ? Revoked : null;
    }

    /// <summary>Every access token carries a jti, the handle by which it is revoked.</summary>
    public static string? MissingTokenIdError(ClaimsPrincipal principal) =>
        principal.FindFirst(AuthClaims.TokenId)?.Value is { Length: > 0 } ? null : "The access token has no jti.";

    /// <summary>
    /// The claims of a token we signed, whatever its lifetime or revocation: for the revocation endpoint, which
    /// must accept tokens that are about to expire. Null when the signature does not verify.
    /// </summary>
    public async Task<JsonWebToken?> ReadSignedAsync(string token, CancellationToken cancellationToken = default)
    {
        var parameters = Parameters.Clone();
        parameters.IssuerSigningKeys = (await keys.GetAsync(cancellationToken)).Keys;
        parameters.ValidateLifetime = false;
        parameters.ValidateIssuer = false;
        var result = await _handler.ValidateTokenAsync(token, parameters);
        return result.IsValid ? result.SecurityToken as JsonWebToken : null;
    }

    /// <summary>A short reason for WWW-Authenticate error_description, without IdentityModel's internals.</summary>
    public static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "The access token expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenInvalidIssuerException => "The access token was issued by someone else.",
        SecurityTokenInvalidAudienceException => "The access token is meant for another audience.",
        SecurityTokenInvalidAlgorithmException => "The access token is signed with an algorithm that is not accepted.",
        SecurityTokenInvalidTypeException => "The token is not an access token.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The access token signature is invalid.",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        SecurityTokenMalformedException => "The access token is malformed.",
        _ when exception?.Message is { Length: > 0 } message && message.Contains("revoked", StringComparison.Ordinal) => "The access token has been revoked.",
        _ => "The access token is invalid.",
    };

    private static TokenValidationParameters CreateParameters(AuthOptions options, TimeProvider time, IHttpContextAccessor httpContext) => new()
    {
        ValidAlgorithms = [EcKeys.Algorithm],
        ValidTypes = [Jws.AccessTokenType],
        ValidAudience = options.Audience,
        ValidateAudience = true,
        ValidateIssuer = true,
        IssuerValidator = (issuer, _, _) =>
        {
            var expected = options.Issuer ?? (httpContext.HttpContext?.Request is { } request ? options.IssuerFor(request) : null);
            return expected is not null && string.Equals(issuer, expected, StringComparison.Ordinal)
                ? issuer
                : throw new SecurityTokenInvalidIssuerException("Unexpected issuer.") { InvalidIssuer = issuer };
        },
        ValidateLifetime = true,
        RequireExpirationTime = true,
        ClockSkew = options.ClockSkew,
        LifetimeValidator = (notBefore, expires, _, parameters) =>
        {
            if (!parameters.ValidateLifetime)
            {
                return true;
            }

            var now = time.GetUtcNow().UtcDateTime;
            if (expires is null)
            {
                throw new SecurityTokenNoExpirationException("The token has no expiry.");
            }

            if (notBefore is { } nbf && nbf > now + options.ClockSkew)
            {
                throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = nbf };
            }

            return expires.Value >= now - options.ClockSkew
                ? true
                : throw new SecurityTokenExpiredException("The token expired.") { Expires = expires.Value };
        },
        RequireSignedTokens = true,
        NameClaimType = AuthClaims.ClientId,
        RoleClaimType = "roles",
    };
}
