using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Auth;

public sealed class TokenEndpointTests(CloudFixture cloud, AppFixture shared) : IClassFixture<AppFixture>
{
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Client_credentials_with_Basic_auth_from_a_standard_OAuth2_client_returns_a_bearer_token_with_every_allowed_scope()
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.ProductsRead, Scopes.OrdersRead], rateLimit: new RateLimit(42, 30));
        using var http = app.CreateClient();

        var response = await http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = "/oauth/token",
            ClientId = clientId,
            ClientSecret = secret,
            ClientCredentialStyle = ClientCredentialStyle.AuthorizationHeader,
        });

        Assert.False(response.IsError, response.Error);
        Assert.Equal("Bearer", response.TokenType);
        Assert.Equal(900, response.ExpiresIn);
        Assert.Equal("products:read orders:read", response.Scope);
        Assert.Null(response.RefreshToken);
        Assert.Equal("no-store", response.HttpResponse!.Headers.CacheControl!.ToString());

        var jwt = new JsonWebToken(response.AccessToken);
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.False(string.IsNullOrEmpty(jwt.Kid));
        Assert.Equal("http://localhost", jwt.Issuer);
        Assert.Equal(["orderprocessing"], jwt.Audiences);
        Assert.Equal(clientId, jwt.Subject);
        Assert.Equal(clientId, jwt.GetClaim("client_id").Value);
        Assert.Equal("products:read orders:read", jwt.GetClaim("scope").Value);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        Assert.Equal(jwt.IssuedAt, jwt.ValidFrom);
        Assert.Equal(TimeSpan.FromMinutes(15), jwt.ValidTo - jwt.IssuedAt);
        using var rateLimit = JsonDocument.Parse(jwt.GetClaim("rate_limit").Value);
        Assert.Equal(42, rateLimit.RootElement.GetProperty("requests").GetInt32());
        Assert.Equal(30, rateLimit.RootElement.GetProperty("window_seconds").GetInt32());
    }

    [Fact]
    public async Task Client_credentials_with_form_fields_returns_a_token_for_the_client()
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersWrite]);
        using var http = app.CreateClient();

        using var response = await http.PostAsync(new Uri("/oauth/token", UriKind.Relative), Form(new()
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret,
        }));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(clientId, new JsonWebToken(body.RootElement.GetProperty("access_token").GetString()).Subject);
        Assert.Equal("orders:write", body.RootElement.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Wrong_secret_is_invalid_client_401_with_a_Basic_challenge()
    {
        var app = shared;
        var (clientId, _) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        using var response = await http.SendAsync(TestData.TokenRequest(clientId, "not-the-secret"));

        await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Unknown_client_is_invalid_client()
    {
        var app = shared;
        using var http = app.CreateClient();

        using var response = await http.SendAsync(TestData.TokenRequest("nobody", "whatever"));

        await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Disabled_client_gets_no_token()
    {
        var app = shared;
        using var admin = await app.CreateClientAsync([Scopes.Admin]);
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();
        using (var before = await http.SendAsync(TestData.TokenRequest(clientId, secret)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var disabled = await admin.Http.PostAsync(new Uri($"/admin/clients/{clientId}/disable", UriKind.Relative), null);
        using var response = await http.SendAsync(TestData.TokenRequest(clientId, secret));

        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Requested_scope_narrows_the_token_to_that_subset()
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([.. Scopes.Customer]);

        using var token = await app.RequestTokenAsync(clientId, secret, new Dictionary<string, string> { ["scope"] = "orders:read" });

        Assert.Equal("orders:read", token.RootElement.GetProperty("scope").GetString());
        Assert.Equal("orders:read", new JsonWebToken(token.RootElement.GetProperty("access_token").GetString()).GetClaim("scope").Value);
    }

    [Fact]
    public async Task Scope_beyond_what_the_client_may_have_is_invalid_scope()
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        using var response = await http.SendAsync(TestData.TokenRequest(clientId, secret,
            new Dictionary<string, string> { ["scope"] = "orders:read admin" }));

        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Theory]
    [InlineData("grant_type=", "invalid_request")]
    [InlineData("grant_type=password&username=a&password=b", "unsupported_grant_type")]
    [InlineData("grant_type=authorization_code&code=x", "unsupported_grant_type")]
    [InlineData("grant_type=client_credentials&grant_type=client_credentials", "invalid_request")]
    [InlineData("grant_type=refresh_token&refresh_token=abc", "unauthorized_client")]
    [InlineData("grant_type=client_credentials&scope=orders%22read", "invalid_scope")]
    public async Task Malformed_or_unsupported_requests_get_the_RFC_6749_error(string form, string error)
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));

        using var response = await http.SendAsync(request);

        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, error);
    }

    [Fact]
    public async Task Json_body_or_two_authentication_methods_are_invalid_request_never_a_500()
    {
        var app = shared;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        using var json = await http.PostAsync(new Uri("/oauth/token", UriKind.Relative),
            new StringContent("""{"grant_type":"client_credentials"}""", Encoding.UTF8, "application/json"));
        using var both = await http.SendAsync(TestData.TokenRequest(clientId, secret,
            new Dictionary<string, string> { ["client_secret"] = secret }));
        using var garbage = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = Form(new() { ["grant_type"] = "client_credentials" }) };
        garbage.Headers.TryAddWithoutValidation("Authorization", "Basic %%%not-base64");
        using var badBasic = await http.SendAsync(garbage);

        await AssertOAuthErrorAsync(json, HttpStatusCode.BadRequest, "invalid_request");
        await AssertOAuthErrorAsync(both, HttpStatusCode.BadRequest, "invalid_request");
        await AssertOAuthErrorAsync(badBasic, HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task Repeated_failed_authentication_locks_the_client_id_out_even_with_the_right_secret()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("token-lockout"),
            new Dictionary<string, string?> { ["AUTH_FAILED_AUTH_LIMIT"] = "3" });
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        var (otherId, otherSecret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            using var failed = await http.SendAsync(TestData.TokenRequest(clientId, "guess-" + i));
            await AssertOAuthErrorAsync(failed, HttpStatusCode.Unauthorized, "invalid_client");
        }

        using var locked = await http.SendAsync(TestData.TokenRequest(clientId, secret));
        using var other = await http.SendAsync(TestData.TokenRequest(otherId, otherSecret));

        await AssertOAuthErrorAsync(locked, HttpStatusCode.TooManyRequests, "invalid_client");
        Assert.True(locked.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Client_secrets_are_stored_only_as_salted_PBKDF2_hashes()
    {
        var app = shared;
        var stack = app.Stack;
        var (clientId, secret) = await app.RegisterClientAsync([Scopes.OrdersRead]);
        using var dynamo = cloud.CreateDynamoDbClient();

        var item = (await dynamo.GetItemAsync(stack.Tables["ClientsTable"], new() { ["clientId"] = new AttributeValue { S = clientId } })).Item;

        Assert.DoesNotContain(item.Values, v => v.S?.Contains(secret, StringComparison.Ordinal) == true);
        var parts = item["secretHash"].S.Split('$');
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.True(ClientSecrets.Verify(secret, item["secretHash"].S));
        Assert.False(ClientSecrets.Verify(secret + "x", item["secretHash"].S));
        Assert.NotEqual(ClientSecrets.Hash(secret, 1000), ClientSecrets.Hash(secret, 1000));
        Assert.True(ClientSecrets.DefaultIterations >= 600_000);
    }

    internal static FormUrlEncodedContent Form(Dictionary<string, string> fields) => new(fields);

    internal static async Task AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(text);
        Assert.Equal(error, body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error_description").GetString()));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }
}
