using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using OrderProcessing.Functions.Auth.Signing;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Auth;

/// <summary>
/// The auth capability: the OAuth2 endpoints, client administration, and the protection of every other endpoint
/// (JwtBearer with our keys and rules, the deny-list, per-client rate limiting, one policy per scope).
/// Every endpoint needs a valid access token unless it says <c>.AllowAnonymous()</c>; a capability asks for a scope
/// with <c>.RequireAuthorization(Scopes.OrdersWrite)</c> and reads the caller with <c>User.ClientId()</c>.
/// </summary>
public static class AuthSetup
{
    public static WebApplicationBuilder AddAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(sp => AuthOptions.From(sp.GetRequiredService<IConfiguration>()));
        services.AddHttpContextAccessor();
        services.AddSingleton<LocalSigningKeys>();
        services.AddSingleton<KmsSigningKeys>();
        services.AddSingleton<ISigningKeys>(sp => sp.GetRequiredService<AuthOptions>().SigningKeyId is null
            ? sp.GetRequiredService<LocalSigningKeys>()
            : sp.GetRequiredService<KmsSigningKeys>());
        services.AddSingleton<ClientRegistry>();
        services.AddSingleton<ClientAuthentication>();
        services.AddSingleton<DenyList>();
        services.AddSingleton<RefreshTokens>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<AccessTokenValidator>();
        services.AddSingleton<ClientRateLimiter>();
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Add(OAuthJson.Default);
            options.SerializerOptions.TypeInfoResolverChain.Add(AdminJson.Default);
        });

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<AccessTokenValidator, ISigningKeys>((options, validator, keys) =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = validator.Parameters;
                options.ConfigurationManager = new SigningKeysConfiguration(keys);
                options.Events = new JwtBearerEvents
                {
                    // The deny-list is checked with the rate limit, in one call (ClientRateLimitingMiddleware).
                    OnTokenValidated = context =>
                    {
                        if (AccessTokenValidator.MissingTokenIdError(context.Principal!) is { } error)
                        {
                            context.Fail(error);
                        }

                        return Task.CompletedTask;
                    },
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        await RefuseTokenAsync(context.HttpContext,
                            context.AuthenticateFailure is { } failure ? AccessTokenValidator.Describe(failure) : null);
                    },
                };
            });

        services.AddAuthorization(options =>
        {
            foreach (var scope in Scopes.All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
            }

            options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        services.AddSingleton<IAuthorizationPolicyProvider, EndpointFallbackPolicyProvider>();
        services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, InsufficientScopeResultHandler>();
        return builder;
    }

    /// <summary>Authentication, then per-client rate limiting (it needs the token's client), then authorization.</summary>
    public static WebApplication UseAuth(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseClientRateLimiting();
        app.UseAuthorization();
        return app;
    }

    /// <summary>The 401 of a missing or refused access token: WWW-Authenticate as RFC 6750 says, and a ProblemDetails.</summary>
    internal static async Task RefuseTokenAsync(HttpContext http, string? description)
    {
        http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        http.Response.Headers.WWWAuthenticate = description is null
            ? $"Bearer realm=\"{OAuthError.Realm}\""
            : $"Bearer realm=\"{OAuthError.Realm}\", error=\"invalid_token\", error_description=\"{description}\"";
        await Problems.Problem(StatusCodes.Status401Unauthorized, description is null ? "unauthorized" : "invalid-token",
            description is null ? "An access token is required." : "The access token is not accepted.",
            description ?? $"Send a bearer token from POST {OAuthEndpoints.TokenPath}.").ExecuteAsync(http);
    }

    public static WebApplication MapAuth(this WebApplication app)
    {
        app.MapOAuth();
        app.MapAdminClients();
        return app;
    }

    /// <summary>Hands JwtBearer the current public keys on every request (the key stores cache them themselves).</summary>
    private sealed class SigningKeysConfiguration(ISigningKeys keys) : IConfigurationManager<OpenIdConnectConfiguration>
    {
        private Snapshot? _last;

        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
        {
            var set = await keys.GetAsync(cancel);
            if (_last is { } last && ReferenceEquals(last.Keys, set))
            {
                return last.Configuration;
            }

            var configuration = new OpenIdConnectConfiguration();
            foreach (var key in set.Keys)
            {
                configuration.SigningKeys.Add(key);
            }

            _last = new Snapshot(set, configuration);
            return configuration;
        }

        private sealed record Snapshot(SigningKeySet Keys, OpenIdConnectConfiguration Configuration);

        public void RequestRefresh()
        {
            // Nothing to do: the key stores notice new keys themselves.
        }
    }
}

/// <summary>
/// Applies the fallback policy (an authenticated caller) to endpoints only: a request that matches no endpoint stays
/// a 404 ProblemDetails instead of a 401, and middleware after the app's pipeline (the local host's static page) is
/// not asked for a token.
/// </summary>
internal sealed class EndpointFallbackPolicyProvider(IOptions<AuthorizationOptions> options, IHttpContextAccessor httpContext)
    : IAuthorizationPolicyProvider
{
    private readonly DefaultAuthorizationPolicyProvider _default = new(options);

    public bool AllowsCachingPolicies => _default.AllowsCachingPolicies;

    public Task<AuthorizationPolicy?> GetFallbackPolicyAsync() =>
        httpContext.HttpContext?.GetEndpoint() is null ? Task.FromResult<AuthorizationPolicy?>(null) : _default.GetFallbackPolicyAsync();

    public Task<AuthorizationPolicy> GetDefaultPolicyAsync() => _default.GetDefaultPolicyAsync();

    public Task<AuthorizationPolicy?> GetPolicyAsync(string policyName) => _default.GetPolicyAsync(policyName);
}

/// <summary>Met when the token's scope claim holds the scope.</summary>
public sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

internal sealed class ScopeRequirementHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (context.User.HasScope(requirement.Scope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>A valid token without the endpoint's scope: 403 with RFC 6750's insufficient_scope and the scope needed.</summary>
internal sealed class InsufficientScopeResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().Select(r => r.Scope).ToList();
        if (!authorizeResult.Forbidden || missing is not { Count: > 0 })
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var scopes = string.Join(' ', missing);
        context.Response.Headers.WWWAuthenticate =
            $"Bearer realm=\"{OAuthError.Realm}\", error=\"insufficient_scope\", error_description=\"The access token lacks a required scope.\", scope=\"{scopes}\"";
        await Problems.Problem(StatusCodes.Status403Forbidden, "insufficient-scope", "Insufficient scope.",
            $"This endpoint needs the scope '{scopes}'; request it in the token request's scope parameter.",
            new Dictionary<string, object?> { ["requiredScopes"] = missing }).ExecuteAsync(context);
    }
}
