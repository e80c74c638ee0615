using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Auth;

/// <summary>
/// The auth metrics the template's dashboard and alarms watch are emitted once per event: TokensIssued per access
/// token handed out (client credentials and refresh), RefreshReuseDetected per reused refresh token, RateLimited
/// per 429 of the per-client limit.
/// </summary>
public sealed class AuthMetricsTests(CloudFixture cloud)
{
    [Fact]
    public async Task Tokens_issued_refresh_reuse_and_rate_limited_requests_are_each_counted_once()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("auth-metrics"));
        var customer = await app.CreateClientAsync([Scopes.Admin], rateLimit: new RateLimit(2, 3600), refreshTokens: true);
        var metrics = new StringWriter();
        app.Services.GetRequiredService<Metrics>().Output = TextWriter.Synchronized(metrics);

        using var first = await app.RequestTokenAsync(customer.ClientId, customer.Secret);
        var r1 = first.RootElement.GetProperty("refresh_token").GetString()!;
        using var second = await app.RequestTokenAsync(customer.ClientId, customer.Secret, TestData.RefreshGrant(r1));
        using var http = app.CreateClient();
        using var reuse = await http.SendAsync(TestData.TokenRequest(customer.ClientId, customer.Secret, TestData.RefreshGrant(r1)));
        // Five calls against a limit of two per window: at least one is refused even if a window boundary falls
        // between them.
        var path = new Uri($"/admin/clients/{customer.ClientId}", UriKind.Relative);
        var calls = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            calls.Add(await customer.Http.GetAsync(path));
        }

        var limited = calls.Count(c => c.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        Assert.InRange(limited, 1, 3);
        Assert.Equal(2, Count(metrics, Metrics.TokensIssued));
        Assert.Equal(1, Count(metrics, Metrics.RefreshReuseDetected));
        Assert.Equal(limited, Count(metrics, Metrics.RateLimited));
        calls.ForEach(c => c.Dispose());
    }

    /// <summary>The sum of one metric over the EMF lines written.</summary>
    private static double Count(StringWriter output, string metric) =>
        output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Where(line => line.TryGetProperty(metric, out _))
            .Sum(line => line.GetProperty(metric).GetDouble());
}
