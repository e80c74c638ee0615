using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Local.Seeding;

namespace OrderProcessing.Tests.Auth;

public sealed class AdminClientsTests(CloudFixture cloud)
{
    private static readonly string[] UnknownScopes = ["orders:delete"];

    [Fact]
    public async Task Admin_registers_a_client_whose_secret_is_shown_once_and_works()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("admin-register"));
        using var admin = await app.CreateClientAsync([Scopes.Admin]);

        using var created = await admin.Http.PostAsJsonAsync("/admin/clients", new
        {
            name = "Shop app",
            scopes = new[] { Scopes.OrdersRead, Scopes.OrdersWrite },
            rateLimit = new { requests = 50, windowSeconds = 10 },
            refreshTokens = true,
        });
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var clientId = body.RootElement.GetProperty("clientId").GetString()!;
        var secret = body.RootElement.GetProperty("clientSecret").GetString()!;
        using var token = await app.RequestTokenAsync(clientId, secret);
        var listed = await admin.Http.GetStringAsync(new Uri("/admin/clients", UriKind.Relative));
        var shown = await admin.Http.GetStringAsync(new Uri($"/admin/clients/{clientId}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/admin/clients/{clientId}", created.Headers.Location?.ToString());
        Assert.Equal("orders:read orders:write", token.RootElement.GetProperty("scope").GetString());
        Assert.True(token.RootElement.TryGetProperty("refresh_token", out _));
        Assert.Contains(clientId, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", shown, StringComparison.OrdinalIgnoreCase);
        using var client = JsonDocument.Parse(shown);
        Assert.Equal(50, client.RootElement.GetProperty("rateLimit").GetProperty("requests").GetInt32());
        Assert.Equal(10, client.RootElement.GetProperty("rateLimit").GetProperty("windowSeconds").GetInt32());
    }

    [Fact]
    public async Task Rotating_the_secret_makes_the_old_one_stop_working()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("admin-rotate"));
        using var admin = await app.CreateClientAsync([Scopes.Admin]);
        var (clientId, oldSecret) = await app.RegisterClientAsync([Scopes.OrdersRead]);

        using var rotated = await admin.Http.PostAsync(new Uri($"/admin/clients/{clientId}/rotate-secret", UriKind.Relative), null);
        using var body = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync());
        var newSecret = body.RootElement.GetProperty("clientSecret").GetString()!;
        using var http = app.CreateClient();
        using var withOld = await http.SendAsync(TestData.TokenRequest(clientId, oldSecret));
        using var withNew = await http.SendAsync(TestData.TokenRequest(clientId, newSecret));

        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        Assert.NotEqual(oldSecret, newSecret);
        await TokenEndpointTests.AssertOAuthErrorAsync(withOld, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
    }

    [Fact]
    public async Task Invalid_registrations_are_400_problems_and_unknown_clients_404()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("admin-invalid"));
        using var admin = await app.CreateClientAsync([Scopes.Admin]);

        using var invalid = await admin.Http.PostAsJsonAsync("/admin/clients", new
        {
            name = "",
            scopes = UnknownScopes,
            rateLimit = new { requests = 0, windowSeconds = 10 },
        });
        using var problem = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
        using var unknown = await admin.Http.PostAsync(new Uri("/admin/clients/nobody/disable", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = problem.RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("scopes", out _));
        Assert.True(errors.TryGetProperty("rateLimit", out _));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Demo_and_admin_clients_are_seeded_idempotently_with_their_documented_secrets()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("seed"));

        await DemoClients.SeedAsync(app.Services);
        await DemoClients.SeedAsync(app.Services);
        using var demo = await app.RequestTokenAsync("demo", "demo-secret");
        using var admin = await app.RequestTokenAsync("admin", "admin-secret");

        Assert.Equal(string.Join(' ', Scopes.Customer), demo.RootElement.GetProperty("scope").GetString());
        Assert.True(demo.RootElement.TryGetProperty("refresh_token", out _));
        Assert.Equal("admin", admin.RootElement.GetProperty("scope").GetString());
    }
}
