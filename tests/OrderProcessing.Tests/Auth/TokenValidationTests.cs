using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Duende.IdentityModel.Client;
using Jose;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Auth.Signing;

namespace OrderProcessing.Tests.Auth;

public sealed class TokenValidationTests(CloudFixture cloud, AppFixture shared) : IClassFixture<AppFixture>
{
    private static readonly Uri Protected = new("/admin/clients", UriKind.Relative);

    [Fact]
    public async Task Token_verifies_with_an_independent_JWT_library_against_the_JWKS_found_through_RFC_8414_discovery()
    {
        var app = shared;
        using var client = await app.CreateClientAsync([Scopes.OrdersRead]);
        using var http = app.CreateClient();

        var discovery = await http.GetDiscoveryDocumentAsync(new DiscoveryDocumentRequest
        {
            Address = "http://localhost",
            Policy = { RequireHttps = false, DiscoveryDocumentPath = ".well-known/oauth-authorization-server" },
        });
        Assert.False(discovery.IsError, discovery.Error);
        Assert.Equal("http://localhost/oauth/token", discovery.TokenEndpoint);
        Assert.Equal("http://localhost/oauth/revoke", discovery.RevocationEndpoint);
        Assert.Contains("client_credentials", discovery.GrantTypesSupported);

        var jwks = JwkSet.FromJson(await http.GetStringAsync(new Uri(discovery.JwksUri!, UriKind.Absolute)), JWT.DefaultSettings.JsonMapper);
        var kid = (string)JWT.Headers(client.AccessToken)["kid"];
        var key = jwks.Keys.Single(k => k.KeyId == kid);
        var payload = JsonNode.Parse(JWT.Decode(client.AccessToken, key.ECDsaKey(), JwsAlgorithm.ES256))!;

        Assert.Equal(client.ClientId, payload["sub"]!.GetValue<string>());
        Assert.Equal(discovery.Issuer, payload["iss"]!.GetValue<string>());
        var tampered = client.AccessToken[..^4] + (client.AccessToken[^4] == 'A' ? "BBBB" : "AAAA");
        Assert.ThrowsAny<JoseException>(() => JWT.Decode(tampered, key.ECDsaKey(), JwsAlgorithm.ES256));
    }

    [Fact]
    public async Task A_token_made_by_the_test_helper_is_accepted_so_the_refusals_below_are_the_checks_at_work()
    {
        var app = shared;
        var clientId = (await app.CreateClientAsync([Scopes.Admin])).ClientId;
        using var http = app.CreateClient(await CraftAsync(app, Claims(clientId)));

        using var response = await http.GetAsync(Protected);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static TheoryData<string> Refused => new()
    {
        "forged signature", "alg none", "HS256 keyed with the public key", "expired", "not yet valid", "wrong issuer",
        "wrong audience", "not an access token (typ JWT)", "no expiry", "garbage",
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Refused_tokens_get_401_with_an_invalid_token_challenge(string kind)
    {
        var app = shared;
        var clientId = (await app.CreateClientAsync([Scopes.Admin])).ClientId;
        var keys = app.Services.GetRequiredService<ISigningKeys>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = kind switch
        {
            "forged signature" => await ForgeAsync(keys, Claims(clientId)),
            "alg none" => Unsigned(new JsonObject { ["alg"] = "none", ["typ"] = "at+jwt" }, Claims(clientId)),
            "HS256 keyed with the public key" => await HmacWithPublicKeyAsync(keys, Claims(clientId)),
            "expired" => await CraftAsync(app, Claims(clientId, c => { c["iat"] = now - 1000; c["nbf"] = now - 1000; c["exp"] = now - 120; })),
            "not yet valid" => await CraftAsync(app, Claims(clientId, c => c["nbf"] = now + 120)),
            "wrong issuer" => await CraftAsync(app, Claims(clientId, c => c["iss"] = "https://issuer.example")),
            "wrong audience" => await CraftAsync(app, Claims(clientId, c => c["aud"] = "another-api")),
            "not an access token (typ JWT)" => await Jws.SignAsync(keys, Claims(clientId), "JWT"),
            "no expiry" => await CraftAsync(app, Claims(clientId, c => c.Remove("exp"))),
            _ => "not.a.jwt",
        };
        using var http = app.CreateClient(token);

        using var response = await http.GetAsync(Protected);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("error=\"invalid_token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task No_token_is_401_with_a_plain_Bearer_challenge_while_public_endpoints_and_unknown_routes_need_none()
    {
        var app = shared;
        using var http = app.CreateClient();

        using var response = await http.GetAsync(Protected);
        using var health = await http.GetAsync(new Uri("/health", UriKind.Relative));
        using var jwks = await http.GetAsync(new Uri("/.well-known/jwks.json", UriKind.Relative));
        using var metadata = await http.GetAsync(new Uri("/.well-known/oauth-authorization-server", UriKind.Relative));
        using var unknownRoute = await http.GetAsync(new Uri("/no-such-route", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("realm=\"orderprocessing\"", response.Headers.WwwAuthenticate.Single().Parameter);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, jwks.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownRoute.StatusCode);
    }

    [Fact]
    public async Task Token_without_the_endpoint_scope_is_403_insufficient_scope_naming_the_scope()
    {
        var app = shared;
        using var customer = await app.CreateClientAsync([.. Scopes.Customer]);

        using var response = await customer.Http.GetAsync(Protected);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.Single().Parameter!;
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.Contains("scope=\"admin\"", challenge, StringComparison.Ordinal);
        Assert.Equal("https://orderprocessing.dev/problems/insufficient-scope", problem.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AccessTokenValidator_applies_the_same_rules_outside_an_HTTP_request()
    {
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("validator"),
            new Dictionary<string, string?> { ["AUTH_ISSUER"] = "http://localhost" });
        using var client = await app.CreateClientAsync([Scopes.NotificationsRead]);
        var validator = app.Services.GetRequiredService<AccessTokenValidator>();

        var valid = await validator.ValidateAsync(client.AccessToken);
        var garbage = await validator.ValidateAsync("not.a.jwt");
        var foreign = await validator.ValidateAsync(await CraftAsync(app, Claims(client.ClientId, c => c["aud"] = "another-api")));
        using var revoke = await app.CreateClient().SendAsync(RevocationTests.RevokeRequest(client.ClientId, client.Secret, client.AccessToken));
        var revoked = await validator.ValidateAsync(client.AccessToken);

        Assert.True(valid.Succeeded, valid.Error);
        Assert.Equal(client.ClientId, valid.Principal!.ClientId());
        Assert.True(valid.Principal!.HasScope(Scopes.NotificationsRead));
        Assert.False(garbage.Succeeded);
        Assert.False(foreign.Succeeded);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False(revoked.Succeeded);
        Assert.Equal("The access token has been revoked.", revoked.Error);
    }

    /// <summary>The claims our issuer writes, for a token made to order.</summary>
    internal static JsonObject Claims(string clientId, Action<JsonObject>? change = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject
        {
            ["iss"] = "http://localhost",
            ["aud"] = "orderprocessing",
            ["sub"] = clientId,
            ["client_id"] = clientId,
            ["scope"] = "admin",
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 900,
            ["rate_limit"] = new JsonObject { ["requests"] = 1000, ["window_seconds"] = 60 },
        };
        change?.Invoke(claims);
        return claims;
    }

    internal static Task<string> CraftAsync(AppFixture app, JsonObject claims) =>
        Jws.SignAsync(app.Services.GetRequiredService<ISigningKeys>(), claims);

    private static async Task<string> ForgeAsync(ISigningKeys keys, JsonObject claims)
    {
        var kid = (await keys.GetAsync()).CurrentKeyId;
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var input = $"{Encode(new JsonObject { ["alg"] = "ES256", ["typ"] = "at+jwt", ["kid"] = kid })}.{Encode(claims)}";
        return $"{input}.{Base64UrlEncoder.Encode(attacker.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256))}";
    }

    private static async Task<string> HmacWithPublicKeyAsync(ISigningKeys keys, JsonObject claims)
    {
        var jwk = (await keys.GetAsync()).Keys[0];
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
        });
        var input = $"{Encode(new JsonObject { ["alg"] = "HS256", ["typ"] = "at+jwt", ["kid"] = jwk.Kid })}.{Encode(claims)}";
        return $"{input}.{Base64UrlEncoder.Encode(HMACSHA256.HashData(Encoding.ASCII.GetBytes(ecdsa.ExportSubjectPublicKeyInfoPem()), Encoding.ASCII.GetBytes(input)))}";
    }

    private static string Unsigned(JsonObject header, JsonObject claims) => $"{Encode(header)}.{Encode(claims)}.";

    private static string Encode(JsonObject json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json.ToJsonString()));
}
