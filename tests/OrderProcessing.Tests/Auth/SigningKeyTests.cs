using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jose;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
        await using var firstFactory = new AppFactory(cloud, stack);
        await using var secondFactory = new AppFactory(cloud, stack, new Dictionary<string, string?> { ["AUTH_LOCAL_KEY_DIR"] = firstFactory.SigningKeyDirectory });
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
    public async Task KMS_signing_keys_sign_through_KMS_and_the_tokens_verify_against_the_published_key()
    {
        await using var kms = await FakeKms.StartAsync();
        var stack = await cloud.ProvisionAsync("kms");
        await using var app = new AppFactory(cloud, stack, new Dictionary<string, string?>
        {
            ["SIGNING_KEY_ID"] = "alias/token-signing",
            ["AWS_ENDPOINT_URL_KMS"] = kms.Url,
        });

        using var client = await app.CreateClientAsync([Scopes.Admin]);
        using var jwks = JsonDocument.Parse(await app.CreateClient().GetStringAsync(new Uri("/.well-known/jwks.json", UriKind.Relative)));
        using var response = await client.Http.GetAsync(Protected);

        var jwk = jwks.RootElement.GetProperty("keys").EnumerateArray().Single();
        Assert.Equal(EcKeys.ToJwk(kms.Key.ExportParameters(false)).Kid, jwk.GetProperty("kid").GetString());
        Assert.Equal(jwk.GetProperty("kid").GetString(), (string)JWT.Headers(client.AccessToken)["kid"]);
        using var publicKey = ECDsa.Create(kms.Key.ExportParameters(false));
        var payload = JsonNode.Parse(JWT.Decode(client.AccessToken, publicKey, JwsAlgorithm.ES256))!;
        Assert.Equal(client.ClientId, payload["sub"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(kms.Calls, c => c.Target == "TrentService.Sign" && c.Body.Contains("\"DIGEST\"", StringComparison.Ordinal));
        Assert.Contains(kms.Calls, c => c.Target == "TrentService.GetPublicKey" && c.Body.Contains("alias/token-signing", StringComparison.Ordinal));
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

    /// <summary>Just enough of KMS's JSON protocol (GetPublicKey, Sign) over HTTP, so the real SDK client is exercised.</summary>
    private sealed class FakeKms : IAsyncDisposable
    {
        private const string Arn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";

        private FakeKms(WebApplication app, ECDsa key)
        {
            App = app;
            Key = key;
        }

        public WebApplication App { get; }

        public ECDsa Key { get; }

        public ConcurrentQueue<(string Target, string Body)> Calls { get; } = new();

        public string Url => App.Urls.First();

        public static async Task<FakeKms> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var kms = new FakeKms(app, ECDsa.Create(ECCurve.NamedCurves.nistP256));
            app.MapPost("/", async (HttpContext context) =>
            {
                var target = context.Request.Headers["X-Amz-Target"].ToString();
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                kms.Calls.Enqueue((target, body));
                var request = JsonNode.Parse(body)!;
                context.Response.ContentType = "application/x-amz-json-1.1";
                var answer = target switch
                {
                    "TrentService.GetPublicKey" => new JsonObject
                    {
                        ["KeyId"] = Arn,
                        ["PublicKey"] = Convert.ToBase64String(kms.Key.ExportSubjectPublicKeyInfo()),
                        ["KeySpec"] = "ECC_NIST_P256",
                        ["KeyUsage"] = "SIGN_VERIFY",
                        ["SigningAlgorithms"] = new JsonArray("ECDSA_SHA_256"),
                    },
                    "TrentService.Sign" => new JsonObject
                    {
                        ["KeyId"] = Arn,
                        ["SigningAlgorithm"] = "ECDSA_SHA_256",
                        ["Signature"] = Convert.ToBase64String(kms.Key.SignHash(
                            Convert.FromBase64String(request["Message"]!.GetValue<string>()), DSASignatureFormat.Rfc3279DerSequence)),
                    },
                    _ => null,
                };
                if (answer is null)
                {
                    context.Response.StatusCode = 400;
                    await context.Response.WriteAsync("""{"__type":"UnsupportedOperationException"}""");
                    return;
                }

                await context.Response.WriteAsync(answer.ToJsonString());
            });
            await app.StartAsync();
            return kms;
        }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            Key.Dispose();
        }
    }
}
