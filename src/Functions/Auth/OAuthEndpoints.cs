using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using OrderProcessing.Functions.Auth.Signing;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// The public OAuth2 endpoints: token (RFC 6749: client_credentials and refresh_token), revocation (RFC 7009),
/// the JWKS and the server metadata (RFC 8414).
/// </summary>
public static class OAuthEndpoints
{
    public const string TokenPath = "/oauth/token";
    public const string RevokePath = "/oauth/revoke";
    public const string JwksPath = "/.well-known/jwks.json";
    public const string MetadataPath = "/.well-known/oauth-authorization-server";

    private const string LogCategory = "OrderProcessing.Auth.OAuth";

    public static IEndpointRouteBuilder MapOAuth(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").AllowAnonymous().WithTags("OAuth");
        group.MapPost(TokenPath, TokenAsync).WithName("Token").DisableAntiforgery()
            .WithSummary("Issues an access token (client_credentials) or rotates a refresh token (refresh_token).")
            .WithDescription("Authenticate the client with HTTP Basic (client id and secret), or client_id and client_secret in the form.")
            .AddOpenApiOperationTransformer((operation, _, _) => FormBody(operation, TokenForm));
        group.MapPost(RevokePath, RevokeAsync).WithName("Revoke").DisableAntiforgery()
            .WithSummary("Revokes an access token or a refresh token (and its whole family); unknown tokens are not an error.")
            .WithDescription("Answers about a second after the revocation is written, once no instance can still admit the access token on what "
                + "it read before: from the answer on, every request with the token is refused.")
            .AddOpenApiOperationTransformer((operation, _, _) => FormBody(operation, RevokeForm));
        group.MapGet(JwksPath, JwksAsync).WithName("Jwks").WithSummary("The public keys that verify access tokens (JWKS).");
        group.MapGet(MetadataPath, Metadata).WithName("ServerMetadata").WithSummary("The authorization server's metadata (RFC 8414).");
        return app;
    }

    private static readonly (string Name, string Description, bool Required, string[]? Values)[] TokenForm =
    [
        ("grant_type", "client_credentials, or refresh_token to rotate a refresh token.", true, ["client_credentials", "refresh_token"]),
        ("scope", "Space-separated scopes; the client's registered scopes when absent.", false, null),
        ("refresh_token", "The refresh token to rotate (grant_type=refresh_token).", false, null),
        ("client_id", "The client id, when not sent with HTTP Basic.", false, null),
        ("client_secret", "The client secret, when not sent with HTTP Basic.", false, null),
    ];

    private static readonly (string Name, string Description, bool Required, string[]? Values)[] RevokeForm =
    [
        ("token", "The access token or refresh token to revoke.", true, null),
        ("token_type_hint", "access_token or refresh_token; only orders the search.", false, ["access_token", "refresh_token"]),
        ("client_id", "The client id, when not sent with HTTP Basic.", false, null),
        ("client_secret", "The client secret, when not sent with HTTP Basic.", false, null),
    ];

    /// <summary>These endpoints read their url-encoded form themselves (to refuse repeated parameters); the document still shows it.</summary>
    private static Task FormBody(Microsoft.OpenApi.OpenApiOperation operation, (string Name, string Description, bool Required, string[]? Values)[] fields)
    {
        var schema = new Microsoft.OpenApi.OpenApiSchema
        {
            Type = Microsoft.OpenApi.JsonSchemaType.Object,
            Properties = new Dictionary<string, Microsoft.OpenApi.IOpenApiSchema>(),
            Required = new HashSet<string>(fields.Where(f => f.Required).Select(f => f.Name)),
        };
        foreach (var (name, description, _, values) in fields)
        {
            schema.Properties[name] = new Microsoft.OpenApi.OpenApiSchema
            {
                Type = Microsoft.OpenApi.JsonSchemaType.String,
                Description = description,
                Enum = values?.Select(v => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(v)).ToList(),
            };
        }

        operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
            {
                ["application/x-www-form-urlencoded"] = new() { Schema = schema },
            },
        };
        return Task.CompletedTask;
    }

    internal static async Task<Results<Ok<TokenResponse>, OAuthError>> TokenAsync(HttpContext context, ClientAuthentication authentication,
        AccessTokenIssuer issuer, RefreshTokens refreshTokens, AuthOptions options, TimeProvider time, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        NoStore(context.Response);
        try
        {
            if (await ReadFormAsync(context.Request, cancellationToken) is not { } form)
            {
                return OAuthError.InvalidRequest("The request must be application/x-www-form-urlencoded, each parameter given once.");
            }

            var grantType = form.TryGetValue("grant_type", out var grant) ? grant.ToString() : "";
            if (grantType.Length == 0)
            {
                return OAuthError.InvalidRequest("grant_type is missing.");
            }

            if (grantType is not ("client_credentials" or "refresh_token"))
            {
                return OAuthError.UnsupportedGrantType("Only the client_credentials and refresh_token grant types are supported.");
            }

            if (!TryParseScope(form, out var requested))
            {
                return OAuthError.InvalidScope("scope must be space-separated scope tokens.");
            }

            var authenticated = await AuthenticateAsync(context.Request, form, authentication, cancellationToken);
            if (authenticated.Error is { } error)
            {
                return error;
            }

            var client = authenticated.Client!;
            var log = loggers.CreateLogger(LogCategory);
            return grantType == "client_credentials"
                ? await ClientCredentialsAsync(context, client, requested, issuer, refreshTokens, options, log, cancellationToken)
                : await RefreshAsync(context, client, form, requested, issuer, refreshTokens, options, time, log, cancellationToken);
        }
        catch (Exception e) when (Problems.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            loggers.CreateLogger(LogCategory).DependencyUnavailable(e, "Token request");
            return OAuthError.TemporarilyUnavailable();
        }
    }

    private static async Task<Results<Ok<TokenResponse>, OAuthError>> ClientCredentialsAsync(HttpContext context, OAuthClient client,
        IReadOnlyList<string>? requested, AccessTokenIssuer issuer, RefreshTokens refreshTokens, AuthOptions options, ILogger log,
        CancellationToken cancellationToken)
    {
        if (requested?.Except(client.Scopes, StringComparer.Ordinal).ToList() is { Count: > 0 } notAllowed)
        {
            return OAuthError.InvalidScope($"The client may not request: {string.Join(' ', notAllowed)}.");
        }

        var scopes = requested ?? client.Scopes;
        var access = await issuer.IssueAsync(options.IssuerFor(context.Request), client, scopes, cancellationToken);
        var refresh = client.RefreshTokens ? await refreshTokens.StartFamilyAsync(client.ClientId, scopes, access, cancellationToken) : null;
        log.AccessTokenIssued(access.TokenId, client.ClientId, access.Scope);
        context.RequestServices.GetRequiredService<Metrics>().Count(Metrics.TokensIssued);
        return TypedResults.Ok(Response(access, options, refresh));
    }

    private static async Task<Results<Ok<TokenResponse>, OAuthError>> RefreshAsync(HttpContext context, OAuthClient client, IFormCollection form,
        IReadOnlyList<string>? requested, AccessTokenIssuer issuer, RefreshTokens refreshTokens, AuthOptions options, TimeProvider time,
        ILogger log, CancellationToken cancellationToken)
    {
        if (!client.RefreshTokens)
        {
            return OAuthError.UnauthorizedClient("This client is not registered for refresh tokens.");
        }

        var presented = form.TryGetValue("refresh_token", out var value) ? value.ToString() : "";
        if (presented.Length == 0)
        {
            return OAuthError.InvalidRequest("refresh_token is missing.");
        }

        var stored = presented.Length <= 512 ? await refreshTokens.FindAsync(presented, cancellationToken) : null;
        if (stored is null || stored.ClientId != client.ClientId)
        {
            return OAuthError.InvalidGrant("The refresh token is invalid, expired, revoked, or was issued to another client.");
        }

        var family = await refreshTokens.FindFamilyAsync(stored.FamilyId, cancellationToken);
        if (family is null || family.Revoked || family.CreatedAt < client.RefreshTokensRevokedBefore)
        {
            return OAuthError.InvalidGrant("The refresh token has been revoked.");
        }

        if (stored.Rotated)
        {
            await refreshTokens.RevokeFamilyAsync(stored.FamilyId, "reuse", cancellationToken);
            log.RefreshTokenReused(client.ClientId, stored.FamilyId);
            context.RequestServices.GetRequiredService<Metrics>().Count(Metrics.RefreshReuseDetected);
            return OAuthError.InvalidGrant("The refresh token was already used; its whole family has been revoked.");
        }

        if (stored.ExpiresAt <= time.GetUtcNow())
        {
            return OAuthError.InvalidGrant("The refresh token expired.");
        }

        if (requested?.Except(stored.Scopes, StringComparer.Ordinal).ToList() is { Count: > 0 } wider)
        {
            return OAuthError.InvalidScope($"A refresh cannot widen the original grant: {string.Join(' ', wider)}.");
        }

        // The client may have lost scopes since the grant; the new tokens never carry more than it has now.
        var scopes = (requested ?? stored.Scopes).Intersect(client.Scopes, StringComparer.Ordinal).ToList();
        if (scopes.Count == 0)
        {
            return OAuthError.InvalidScope("None of the granted scopes is still allowed for this client.");
        }

        var access = await issuer.IssueAsync(options.IssuerFor(context.Request), client, scopes, cancellationToken);
        var (outcome, refresh) = await refreshTokens.RotateAsync(presented, stored, scopes, access, cancellationToken);
        switch (outcome)
        {
            case RotationOutcome.Reused:
                log.RefreshTokenReused(client.ClientId, stored.FamilyId);
                context.RequestServices.GetRequiredService<Metrics>().Count(Metrics.RefreshReuseDetected);
                return OAuthError.InvalidGrant("The refresh token was already used; its whole family has been revoked.");
            case RotationOutcome.FamilyRevoked:
                return OAuthError.InvalidGrant("The refresh token has been revoked.");
            default:
                log.RefreshTokenRotated(client.ClientId, stored.FamilyId, access.TokenId);
                context.RequestServices.GetRequiredService<Metrics>().Count(Metrics.TokensIssued);
                return TypedResults.Ok(Response(access, options, refresh));
        }
    }

    internal static async Task<Results<Ok, OAuthError>> RevokeAsync(HttpContext context, ClientAuthentication authentication,
        AccessTokenValidator validator, DenyList denyList, RefreshTokens refreshTokens, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        NoStore(context.Response);
        try
        {
            if (await ReadFormAsync(context.Request, cancellationToken) is not { } form)
            {
                return OAuthError.InvalidRequest("The request must be application/x-www-form-urlencoded, each parameter given once.");
            }

            var token = form.TryGetValue("token", out var value) ? value.ToString() : "";
            if (token.Length == 0)
            {
                return OAuthError.InvalidRequest("token is missing.");
            }

            var authenticated = await AuthenticateAsync(context.Request, form, authentication, cancellationToken);
            if (authenticated.Error is { } error)
            {
                return error;
            }

            var client = authenticated.Client!;
            var log = loggers.CreateLogger(LogCategory);

            // The hint only orders the search (RFC 7009 §2.1); the token's shape tells which kind it is.
            if (token.Count(c => c == '.') == 2)
            {
                if (await validator.ReadSignedAsync(token, cancellationToken) is not { } jwt || jwt.Id is not { Length: > 0 } tokenId)
                {
                    return TypedResults.Ok();
                }

                if (jwt.GetPayloadValue<string>(AuthClaims.ClientId) != client.ClientId)
                {
                    return OAuthError.InvalidGrant("The token was issued to another client.");
                }

                await denyList.DenyAsync(tokenId, client.ClientId, jwt.ValidTo, cancellationToken);
                log.AccessTokenRevoked(tokenId, client.ClientId);
                return TypedResults.Ok();
            }

            if (token.Length > 512 || await refreshTokens.FindAsync(token, cancellationToken) is not { } stored)
            {
                return TypedResults.Ok();
            }

            if (stored.ClientId != client.ClientId)
            {
                return OAuthError.InvalidGrant("The token was issued to another client.");
            }

            await refreshTokens.RevokeFamilyAsync(stored.FamilyId, "revoked by client", cancellationToken);
            return TypedResults.Ok();
        }
        catch (Exception e) when (Problems.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            loggers.CreateLogger(LogCategory).DependencyUnavailable(e, "Revocation");
            return OAuthError.TemporarilyUnavailable();
        }
    }

    internal static async Task<Ok<JwksResponse>> JwksAsync(HttpContext context, ISigningKeys keys, CancellationToken cancellationToken)
    {
        var set = await keys.GetAsync(cancellationToken);
        context.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Ok(new JwksResponse([.. set.Keys.Select(k => new JwkResponse(k.Kty, k.Crv, k.X, k.Y, k.Kid, k.Use, k.Alg))]));
    }

    internal static Ok<ServerMetadataResponse> Metadata(HttpRequest request, AuthOptions options)
    {
        var issuer = options.IssuerFor(request);
        string[] authMethods = ["client_secret_basic", "client_secret_post"];
        return TypedResults.Ok(new ServerMetadataResponse(
            issuer,
            issuer + TokenPath,
            issuer + JwksPath,
            issuer + RevokePath,
            Scopes.All,
            [],
            ["client_credentials", "refresh_token"],
            authMethods,
            authMethods,
            [EcKeys.Algorithm]));
    }

    private static TokenResponse Response(IssuedAccessToken access, AuthOptions options, string? refreshToken) =>
        new(access.Token, "Bearer", (long)options.AccessTokenLifetime.TotalSeconds, access.Scope, refreshToken);

    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }

    private sealed record Authenticated(OAuthClient? Client, OAuthError? Error);

    private static async Task<Authenticated> AuthenticateAsync(HttpRequest request, IFormCollection form, ClientAuthentication authentication,
        CancellationToken cancellationToken)
    {
        var credentials = PresentedCredentials.From(request, form);
        if (credentials.Problem is { } problem)
        {
            return new(null, credentials.UsedBasic && problem.Contains("not both", StringComparison.Ordinal)
                ? OAuthError.InvalidRequest(problem)
                : OAuthError.InvalidClient(problem));
        }

        if (credentials.ClientId is not { Length: > 0 } clientId || credentials.Secret is not { Length: > 0 } secret)
        {
            return new(null, OAuthError.InvalidClient("Client authentication is required: HTTP Basic, or client_id and client_secret."));
        }

        return await authentication.AuthenticateAsync(clientId, secret, cancellationToken) switch
        {
            ClientAuthenticationResult.Authenticated ok => new(ok.Client, null),
            ClientAuthenticationResult.LockedOut locked => new(null, OAuthError.LockedOut(locked.RetryAfter)),
            ClientAuthenticationResult.Failed failed => new(null, OAuthError.InvalidClient(failed.Description)),
            _ => throw new InvalidOperationException("Unknown client authentication result."),
        };
    }

    /// <summary>The form, or null when the request is not a url-encoded form or repeats a parameter (RFC 6749 §3.2).</summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var form = await request.ReadFormAsync(cancellationToken);
            return form.All(p => p.Value.Count == 1) ? form : null;
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return null;
        }
    }

    /// <summary>RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by spaces. Absent or empty = null.</summary>
    private static bool TryParseScope(IFormCollection form, out IReadOnlyList<string>? scopes)
    {
        scopes = null;
        if (!form.TryGetValue("scope", out var value) || string.IsNullOrWhiteSpace(value.ToString()))
        {
            return true;
        }

        var tokens = value.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!tokens.All(t => t.All(c => c is '\x21' or (>= '\x23' and <= '\x5B') or (>= '\x5D' and <= '\x7E'))))
        {
            return false;
        }

        scopes = [.. tokens.Distinct(StringComparer.Ordinal)];
        return true;
    }
}
