using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Auth;

public sealed class RevocationTests(CloudFixture cloud)
{
    private static readonly Uri Protected = new("/admin/clients", UriKind.Relative);

    [Fact]
    public async Task Revoked_access_token_is_refused_by_every_instance_on_the_very_next_request()
    {
        var stack = await cloud.ProvisionAsync("revoke-access");
        await using var first = await AppFixture.CreateAsync(cloud, stack);
        await using var second = await AppFixture.CreateAsync(cloud, stack, new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = first.SigningKeyDirectory });
        using var client = await first.CreateClientAsync([Scopes.Admin]);
        using var onSecond = second.CreateClient(client.AccessToken);
        using (var before = await onSecond.GetAsync(Protected))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var revoke = await first.CreateClient().SendAsync(RevokeRequest(client.ClientId, client.Secret, client.AccessToken, "access_token"));
        using var nextOnSecond = await onSecond.GetAsync(Protected);
        using var nextOnFirst = await client.Http.GetAsync(Protected);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, nextOnSecond.StatusCode);
        Assert.Contains("revoked", nextOnSecond.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, nextOnFirst.StatusCode);

        using var dynamo = cloud.CreateDynamoDbClient();
        var jti = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(client.AccessToken);
        var clientItem = (await dynamo.GetItemAsync(stack.Tables["RateLimitsTable"], ClientRateLimiter.ClientKey(client.ClientId))).Item;
        Assert.Equal(new DateTimeOffset(jti.ValidTo).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            clientItem["revoked"].M[jti.Id].N);
    }

    [Fact]
    public async Task Revoking_a_refresh_token_revokes_its_family_and_the_access_token_issued_with_it()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("revoke-refresh"));
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.Admin], refreshTokens: true);
        using var pair = await app.RequestTokenAsync(clientId, secret);
        var refresh = pair.RootElement.GetProperty("refresh_token").GetString()!;
        var access = pair.RootElement.GetProperty("access_token").GetString()!;
        using var http = app.CreateClient();

        using var revoke = await http.SendAsync(RevokeRequest(clientId, secret, refresh, "refresh_token"));
        using var refreshed = await http.SendAsync(TestData.TokenRequest(clientId, secret,
            TestData.RefreshGrant(refresh)));
        using var withAccess = await app.CreateClient(access).GetAsync(Protected);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        await TokenEndpointTests.AssertOAuthErrorAsync(refreshed, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.Unauthorized, withAccess.StatusCode);
    }

    [Fact]
    public async Task Unknown_tokens_get_200_but_another_clients_token_and_missing_credentials_are_refused()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("revoke-unknown"));
        using var owner = await app.CreateClientAsync([Scopes.OrdersRead]);
        var (otherId, otherSecret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        using var unknown = await http.SendAsync(RevokeRequest(otherId, otherSecret, "no-such-token"));
        using var unknownJwt = await http.SendAsync(RevokeRequest(otherId, otherSecret, "eyJhbGciOiJub25lIn0.e30."));
        using var foreign = await http.SendAsync(RevokeRequest(otherId, otherSecret, owner.AccessToken));
        using var anonymous = await http.PostAsync(new Uri("/oauth/revoke", UriKind.Relative),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = owner.AccessToken }));
        using var stillValid = await owner.Http.GetAsync(new Uri("/admin/clients", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, unknownJwt.StatusCode);
        await TokenEndpointTests.AssertOAuthErrorAsync(foreign, HttpStatusCode.BadRequest, "invalid_grant");
        await TokenEndpointTests.AssertOAuthErrorAsync(anonymous, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(HttpStatusCode.Forbidden, stillValid.StatusCode); // authenticated (not revoked), just not admin
    }

    internal static HttpRequestMessage RevokeRequest(string clientId, string secret, string token, string? hint = null)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (hint is not null)
        {
            form["token_type_hint"] = hint;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
        return request;
    }
}
