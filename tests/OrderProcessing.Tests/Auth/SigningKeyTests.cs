using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Jose;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Auth.Signing;

namespace OrderProcessing.Tests.Auth;

public sealed class SigningKeyTests(CloudFixture cloud)
{
    private static readonly Uri Protected = new("/admin/clients", UriKind.Relative);

    [Fact]
    public async Task Key_rotation_keeps_old_tokens_valid_until_they_expire_in_every_instance()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var stack = await cloud.ProvisionAsync("rotation");
        await using var firstFactory = await AppFixture.CreateAsync(cloud, stack);
        await using var secondFactory = await AppFixture.CreateAsync(cloud, stack, new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = firstFactory.SigningKeyDirectory });
        await using var first = firstFactory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        await using var second = secondFactory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(time)));
        using var client = await first.CreateClientAsync([Scopes.Admin]);
        var oldToken = client.AccessToken;

        time.Advance(TimeSpan.FromMinutes(10));
        var newKeyId = await first.Services.GetRequiredService<LocalSigningKeys>().RotateAsync();
        using var renewed = await first.RequestTokenAsync(client.ClientId, client.Secret);
        var newToken = renewed.RootElement.GetProperty("access_token").GetString()!;
        var published = await KeyIdsAsync(second);

        Assert.Equal(newKeyId, (string)JWT.Headers(newToken)["kid"]);
        Assert.NotEqual(JWT.Headers(oldToken)["kid"], JWT.Headers(newToken)["kid"]);
        Assert.Equal([newKeyId, (string)JWT.Headers(oldToken)["kid"]], published);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(second, oldToken));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(second, newToken));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(first, oldToken));

        time.Advance(TimeSpan.FromMinutes(6)); // the old token is now past its 15 minutes (and the 30 s skew)
        using (var expired = await first.CreateClient(oldToken).GetAsync(Protected))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
            Assert.Contains("expired", expired.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(second, newToken));
        time.Advance(TimeSpan.FromMinutes(11)); // past the last moment a token of the old key could be alive
        Assert.Equal([newKeyId], await KeyIdsAsync(second));
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task KMS_signing_keys_sign_through_KMS_and_the_tokens_verify_against_the_published_key()
    {
        using var kms = await cloud.CreateKmsClientAsync();
        var (alias, keyArn) = await CreateSigningKeyAsync(kms);
        var stack = await cloud.ProvisionAsync("kms");
        await using var app = await AppFixture.CreateAsync(cloud, stack, await KmsSettingsAsync(alias));

        using var client = await app.CreateClientAsync([Scopes.Admin]);
        using var jwks = JsonDocument.Parse(await app.CreateClient().GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative)));
        using var response = await client.Http.GetAsync(Protected);

        // The published key is KMS's public key of the key the alias names, and the token verifies against it.
        using var publicKey = await PublicKeyAsync(kms, keyArn);
        var jwk = jwks.RootElement.GetProperty("keys").EnumerateArray().Single();
        Assert.Equal(EcKeys.ToJwk(publicKey.ExportParameters(false)).Kid, jwk.GetProperty("kid").GetString());
        Assert.Equal(jwk.GetProperty("kid").GetString(), (string)JWT.Headers(client.AccessToken)["kid"]);
        var payload = JsonNode.Parse(JWT.Decode(client.AccessToken, publicKey, JwsAlgorithm.ES256))!;
        Assert.Equal(client.ClientId, payload["sub"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task A_new_KMS_key_signs_while_tokens_of_the_previous_key_stay_valid()
    {
        using var kms = await cloud.CreateKmsClientAsync();
        var (oldAlias, oldArn) = await CreateSigningKeyAsync(kms);
        var (newAlias, newArn) = await CreateSigningKeyAsync(kms);
        var stack = await cloud.ProvisionAsync("kms-rotation");
        await using var before = await AppFixture.CreateAsync(cloud, stack, await KmsSettingsAsync(oldAlias));
        using var client = await before.CreateClientAsync([Scopes.Admin]);
        var oldToken = client.AccessToken;

        // The deployment after the rotation signs with the new key and still publishes the old one.
        var rotated = await KmsSettingsAsync(newAlias);
        rotated["SIGNING_PREVIOUS_KEY_IDS"] = oldArn;
        await using var after = await AppFixture.CreateAsync(cloud, stack, rotated);
        using var renewed = await after.RequestTokenAsync(client.ClientId, client.Secret);
        var newToken = renewed.RootElement.GetProperty("access_token").GetString()!;

        using var oldKey = await PublicKeyAsync(kms, oldArn);
        using var newKey = await PublicKeyAsync(kms, newArn);
        var oldKid = EcKeys.ToJwk(oldKey.ExportParameters(false)).Kid;
        var newKid = EcKeys.ToJwk(newKey.ExportParameters(false)).Kid;
        Assert.Equal(oldKid, (string)JWT.Headers(oldToken)["kid"]);
        Assert.Equal(newKid, (string)JWT.Headers(newToken)["kid"]);
        Assert.Equal([newKid, oldKid], await KeyIdsAsync(after));
        Assert.NotNull(JWT.Decode(newToken, newKey, JwsAlgorithm.ES256));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(after, oldToken));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(after, newToken));
    }

    [Fact]
    public async Task KMS_unreachable_answers_503_temporarily_unavailable_for_a_token()
    {
        var stack = await cloud.ProvisionAsync("kms-down");
        var settings = new Dictionary<string, string?>
        {
            ["SIGNING_KEY_ID"] = "alias/token-signing",
            ["AWS_ENDPOINT_URL_KMS"] = $"http://127.0.0.1:{OrderProcessing.Local.Cloud.FreePort.Next()}/",
        };
        await using var app = await AppFixture.CreateAsync(cloud, stack, settings);
        var registration = new ClientRegistration("kms down", [Scopes.Admin], new RateLimit(10_000, 60), false);
        var (client, secret) = (await app.Services.GetRequiredService<ClientRegistry>().RegisterAsync(registration))!.Value;

        using var http = app.CreateClient();
        using var response = await http.SendAsync(TestData.TokenRequest(client.ClientId, secret));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("temporarily_unavailable", body.RootElement.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData(32)]
    [InlineData(31)]
    [InlineData(1)]
    public void DER_ECDSA_signatures_become_fixed_width_JWS_signatures(int rLength)
    {
        var r = Enumerable.Range(1, rLength).Select(i => (byte)(0x80 + i % 100)).ToArray();
        var s = Enumerable.Repeat((byte)0x7f, 32).ToArray();
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(r);
            writer.WriteIntegerUnsigned(s);
        }

        var signature = KmsSigningKeys.DerToP1363(writer.Encode(), 32);

        Assert.Equal(64, signature.Length);
        Assert.Equal(r, signature[(32 - rLength)..32]);
        Assert.All(signature[..(32 - rLength)], b => Assert.Equal(0, b));
        Assert.Equal(s, signature[32..]);
    }

    private static async Task<HttpStatusCode> StatusAsync(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app, string token)
    {
        using var http = app.CreateClient(token);
        using var response = await http.GetAsync(Protected);
        return response.StatusCode;
    }

    private static async Task<string[]> KeyIdsAsync(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app)
    {
        using var jwks = JsonDocument.Parse(await app.CreateClient().GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative)));
        return [.. jwks.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }

    private async Task<Dictionary<string, string?>> KmsSettingsAsync(string signingKeyId) => new()
    {
        ["SIGNING_KEY_ID"] = signingKeyId,
        ["AWS_ENDPOINT_URL_KMS"] = (await cloud.MotoEndpointAsync()).ToString(),
    };

    /// <summary>An ECC_NIST_P256 SIGN_VERIFY key with an alias of its own, as template.yaml creates the signing key.</summary>
    private static async Task<(string Alias, string Arn)> CreateSigningKeyAsync(IAmazonKeyManagementService kms)
    {
        var key = await kms.CreateKeyAsync(new CreateKeyRequest { KeySpec = KeySpec.ECC_NIST_P256, KeyUsage = KeyUsageType.SIGN_VERIFY });
        var alias = $"alias/token-signing-{Guid.NewGuid():N}";
        await kms.CreateAliasAsync(new CreateAliasRequest { AliasName = alias, TargetKeyId = key.KeyMetadata.KeyId });
        return (alias, key.KeyMetadata.Arn);
    }

    private static async Task<ECDsa> PublicKeyAsync(IAmazonKeyManagementService kms, string keyId)
    {
        var answer = await kms.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = keyId });
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(answer.PublicKey.ToArray(), out _);
        return key;
    }
}
