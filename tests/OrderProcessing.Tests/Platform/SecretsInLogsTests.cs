using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

public sealed class SecretsInLogsTests(CloudFixture cloud)
{
    /// <summary>
    /// A realistic life of a customer app, logged at Debug by the app's own JSON formatter: registration and secret
    /// rotation by an admin, token issue, protected calls (one with the token in the query string by mistake), refresh,
    /// refresh token reuse, revocation, a wrong secret, and WebSocket $connect with the token in the query string and
    /// in Sec-WebSocket-Protocol. No access token, refresh token or client secret (right or wrong) appears in any line.
    /// </summary>
    [Fact]
    public async Task No_token_or_client_secret_appears_in_the_logs_of_a_whole_client_lifecycle_at_debug_level()
    {
        var logs = new JsonLogCapture();
        await using var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("secrets"),
            new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Debug", ["Logging:LogLevel:Microsoft"] = "Debug" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var admin = await app.CreateClientAsync([Scopes.Admin]);
        var secrets = new List<string> { admin.Secret, admin.AccessToken };
        using var http = app.CreateClient();

        using var registered = await admin.Http.PostAsJsonAsync(new Uri("/admin/clients", UriKind.Relative),
            new { name = "Leak check", scopes = Scopes.Customer, refreshTokens = true });
        using var registration = JsonDocument.Parse(await registered.Content.ReadAsStringAsync());
        var clientId = registration.RootElement.GetProperty("clientId").GetString()!;
        var secret = registration.RootElement.GetProperty("clientSecret").GetString()!;
        secrets.Add(secret);

        var (access, refresh) = await TokensAsync(http, TestData.TokenRequest(clientId, secret));
        secrets.AddRange([access, refresh]);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/orders", access)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, $"/products?limit=5&token={access}&access_token={access}", access)).StatusCode);

        var (refreshedAccess, refreshedRefresh) = await TokensAsync(http, TestData.TokenRequest(clientId, secret,
            TestData.RefreshGrant(refresh)));
        secrets.AddRange([refreshedAccess, refreshedRefresh]);
        using (var reused = await http.SendAsync(TestData.TokenRequest(clientId, secret,
                   TestData.RefreshGrant(refresh))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, reused.StatusCode);
        }

        var (fresh, _) = await TokensAsync(http, TestData.TokenRequest(clientId, secret));
        secrets.Add(fresh);
        using (var revoke = new HttpRequestMessage(HttpMethod.Post, new Uri("/oauth/revoke", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = fresh,
                ["token_type_hint"] = "access_token",
                ["client_id"] = clientId,
                ["client_secret"] = secret,
            }),
        })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(revoke)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, "/orders", fresh)).StatusCode);

        using var rotated = await admin.Http.PostAsync(new Uri($"/admin/clients/{clientId}/rotate-secret", UriKind.Relative), null);
        using var rotation = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync());
        var newSecret = rotation.RootElement.GetProperty("clientSecret").GetString()!;
        secrets.Add(newSecret);
        const string wrongSecret = "wrong-secret-Zq81xK7pVb3N";
        secrets.Add(wrongSecret);
        using (var wrong = await http.SendAsync(TestData.TokenRequest(clientId, wrongSecret)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var old = await http.SendAsync(TestData.TokenRequest(clientId, secret)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        var (socketToken, _) = await TokensAsync(http, TestData.TokenRequest(clientId, newSecret));
        secrets.Add(socketToken);
        Assert.Equal(200, await ConnectAsync(http, socketToken, viaProtocolHeader: false));
        Assert.Equal(200, await ConnectAsync(http, socketToken, viaProtocolHeader: true));
        Assert.Equal(401, await ConnectAsync(http, access[..^4] + "AAAA", viaProtocolHeader: false));
        secrets.Add(access[..^4] + "AAAA");

        var lines = logs.Lines;
        Assert.Contains(lines, l => l.Contains("\"level\":\"Debug\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("refresh", StringComparison.OrdinalIgnoreCase));
        foreach (var value in secrets)
        {
            var leaked = lines.FirstOrDefault(l => Fragments(value).Any(f => l.Contains(f, StringComparison.Ordinal)));
            Assert.True(leaked is null, $"A credential ({value[..6]}…) is in the logs: {leaked}");
        }
    }

    [Theory]
    [InlineData("GET /orders?token=abc.def-ghi&limit=5", "GET /orders?token=[REDACTED]&limit=5")]
    [InlineData("refresh_token=Qm9w0V2t3cC1&grant_type=refresh_token", "refresh_token=[REDACTED]&grant_type=refresh_token")]
    [InlineData("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln", "Authorization: Bearer [REDACTED]")]
    [InlineData("{\"clientSecret\":\"s3cr3t\",\"name\":\"x\"}", "{\"clientSecret\":\"[REDACTED]\",\"name\":\"x\"}")]
    [InlineData("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2ln rejected", "token [REDACTED] rejected")]
    [InlineData("HTTP: POST /oauth/token => TokenAsync", "HTTP: POST /oauth/token => TokenAsync")]
    [InlineData("Access token 01a2 issued to client demo", "Access token 01a2 issued to client demo")]
    public void Credentials_in_a_log_line_are_masked_and_ordinary_text_is_left_alone(string line, string written) =>
        Assert.Equal(written, LogRedaction.Redact(line));

    private static async Task<(string Access, string Refresh)> TokensAsync(HttpClient http, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            using var json = JsonDocument.Parse(body);
            return (json.RootElement.GetProperty("access_token").GetString()!,
                json.RootElement.TryGetProperty("refresh_token", out var refresh) ? refresh.GetString()! : "");
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    /// <summary>$connect as API Gateway delivers it through the Web Adapter; answers the route's status code.</summary>
    private static async Task<int> ConnectAsync(HttpClient http, string token, bool viaProtocolHeader)
    {
        var connect = new JsonObject
        {
            ["requestContext"] = new JsonObject { ["routeKey"] = "$connect", ["eventType"] = "CONNECT", ["connectionId"] = Guid.NewGuid().ToString("N") },
            ["headers"] = viaProtocolHeader ? new JsonObject { ["Sec-WebSocket-Protocol"] = $"bearer, {token}" } : new JsonObject(),
            ["queryStringParameters"] = viaProtocolHeader ? null : new JsonObject { ["token"] = token },
            ["isBase64Encoded"] = false,
        };
        using var content = new StringContent(connect.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/events", UriKind.Relative), content);
        using var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return result.RootElement.GetProperty("statusCode").GetInt32();
    }

    /// <summary>The value, and for a JWT its payload and signature on their own (the header is the same in every token).</summary>
    private static IEnumerable<string> Fragments(string value) =>
        value.Split('.') is [_, var payload, var signature] ? [value, payload, signature] : [value];
}
