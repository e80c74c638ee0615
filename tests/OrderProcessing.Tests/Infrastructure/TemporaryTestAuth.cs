using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// TEMPORARY, until the auth service lands on main: authenticates a test request from X-Test-Sub and
/// X-Test-Scopes headers, with one policy per scope as the auth contract defines. Removed when endpoint
/// tests switch to real bearer tokens.
/// </summary>
internal static class TemporaryTestAuth
{
    public const string Scheme = "TemporaryTest";

    public static void AddTo(IServiceCollection services)
    {
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, Handler>(Scheme, null);
        services.AddAuthorization(options =>
        {
            foreach (var scope in Scopes.All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim("scope", scope));
            }
        });
    }

    public static HttpClient CreateClientFor(AppFactory app, string clientId, IEnumerable<string> scopes)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-Test-Sub", clientId);
        client.DefaultRequestHeaders.Add("X-Test-Scopes", string.Join(' ', scopes));
        return client;
    }

    private sealed class Handler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-Test-Sub"].ToString() is not { Length: > 0 } sub)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claims = new List<Claim> { new("sub", sub) };
            claims.AddRange(Request.Headers["X-Test-Scopes"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => new Claim("scope", s)));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, TemporaryTestAuth.Scheme)), TemporaryTestAuth.Scheme)));
        }
    }
}
