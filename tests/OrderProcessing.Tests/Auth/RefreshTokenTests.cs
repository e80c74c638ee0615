using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Auth;

public sealed class RefreshTokenTests(CloudFixture cloud)
{
    private static readonly Uri Protected = new("/admin/clients", UriKind.Relative);

    [Fact]
    public async Task Refresh_rotates_the_pair_and_the_used_refresh_token_stops_working()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("refresh-rotate"));
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.Admin, Scopes.OrdersRead], refreshTokens: true);
        using var first = await app.RequestTokenAsync(clientId, secret);
        var r1 = first.RootElement.GetProperty("refresh_token").GetString()!;

        using var second = await app.RequestTokenAsync(clientId, secret, TestData.RefreshGrant(r1, "admin"));
        var r2 = second.RootElement.GetProperty("refresh_token").GetString()!;
        using var third = await app.RequestTokenAsync(clientId, secret, TestData.RefreshGrant(r2));
        using var widened = await app.CreateClient().SendAsync(TestData.TokenRequest(clientId, secret,
            TestData.RefreshGrant(third.RootElement.GetProperty("refresh_token").GetString()!, "admin orders:read")));
        using var withNewAccess = await app.CreateClient(second.RootElement.GetProperty("access_token").GetString()!).GetAsync(Protected);

        Assert.NotEqual(r1, r2);
        Assert.Equal("admin", second.RootElement.GetProperty("scope").GetString());
        Assert.Equal("admin", third.RootElement.GetProperty("scope").GetString());
        await TokenEndpointTests.AssertOAuthErrorAsync(widened, HttpStatusCode.BadRequest, "invalid_scope");
        Assert.Equal(HttpStatusCode.OK, withNewAccess.StatusCode);
    }

    [Fact]
    public async Task Reusing_a_rotated_refresh_token_is_treated_as_theft_and_revokes_the_whole_family()
    {
        var stack = await cloud.ProvisionAsync("refresh-reuse");
        await using var app = await AppFixture.CreateAsync(cloud, stack);
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.Admin], refreshTokens: true);
        using var first = await app.RequestTokenAsync(clientId, secret);
        var r1 = first.RootElement.GetProperty("refresh_token").GetString()!;
        using var second = await app.RequestTokenAsync(clientId, secret, TestData.RefreshGrant(r1));
        var r2 = second.RootElement.GetProperty("refresh_token").GetString()!;
        var a2 = second.RootElement.GetProperty("access_token").GetString()!;
        using var http = app.CreateClient();

        using var replay = await http.SendAsync(TestData.TokenRequest(clientId, secret, TestData.RefreshGrant(r1)));
        using var legitimate = await http.SendAsync(TestData.TokenRequest(clientId, secret, TestData.RefreshGrant(r2)));
        using var withLatestAccess = await app.CreateClient(a2).GetAsync(Protected);
        using var fresh = await app.RequestTokenAsync(clientId, secret);

        await TokenEndpointTests.AssertOAuthErrorAsync(replay, HttpStatusCode.BadRequest, "invalid_grant");
        await TokenEndpointTests.AssertOAuthErrorAsync(legitimate, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.Unauthorized, withLatestAccess.StatusCode);
        Assert.True(fresh.RootElement.TryGetProperty("refresh_token", out _), "a new grant starts a new family");

        using var dynamo = cloud.CreateDynamoDbClient();
        var families = (await dynamo.ScanAsync(new ScanRequest(stack.Tables["TokensTable"])
        {
            FilterExpression = "begins_with(pk, :family)",
            ExpressionAttributeValues = new() { [":family"] = new AttributeValue { S = "family#" } },
        })).Items;
        Assert.Equal(2, families.Count);
        Assert.Single(families, f => f["revoked"].BOOL == true && f["revokedReason"].S == "reuse");
    }

    [Fact]
    public async Task Refresh_tokens_are_opaque_and_stored_only_as_a_hash()
    {
        var stack = await cloud.ProvisionAsync("refresh-hash");
        await using var app = await AppFixture.CreateAsync(cloud, stack);
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead], refreshTokens: true);
        using var pair = await app.RequestTokenAsync(clientId, secret);
        var refresh = pair.RootElement.GetProperty("refresh_token").GetString()!;
        using var dynamo = cloud.CreateDynamoDbClient();

        var items = (await dynamo.ScanAsync(new ScanRequest(stack.Tables["TokensTable"]))).Items;

        Assert.DoesNotContain('.', refresh);
        Assert.True(refresh.Length >= 43);
        Assert.DoesNotContain(items, i => JsonSerializer.Serialize(i.Values.Select(v => v.S)).Contains(refresh, StringComparison.Ordinal));
        Assert.Single(items, i => i["pk"].S.StartsWith("refresh#", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refresh_tokens_are_off_unless_the_client_is_registered_for_them()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("refresh-off"));
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);

        using var token = await app.RequestTokenAsync(clientId, secret);

        Assert.False(token.RootElement.TryGetProperty("refresh_token", out _));
    }
}
