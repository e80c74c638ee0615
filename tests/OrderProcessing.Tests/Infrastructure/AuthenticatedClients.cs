using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>A registered OAuth client, its secret, and an HttpClient that sends its bearer token.</summary>
public sealed record TestClient(string ClientId, string Secret, string AccessToken, HttpClient Http) : IDisposable
{
    public void Dispose() => Http.Dispose();
}

/// <summary>Registers OAuth clients in an app's stack and gets them real tokens from POST /oauth/token.</summary>
public static class AuthenticatedClients
{
    /// <summary>A new client with these scopes (a generous rate limit unless given) and an HttpClient carrying its token.</summary>
    public static async Task<TestClient> CreateClientAsync(this WebApplicationFactory<Program> app, IReadOnlyList<string> scopes,
        string? clientId = null, RateLimit? rateLimit = null, bool refreshTokens = false)
    {
        var registry = app.Services.GetRequiredService<ClientRegistry>();
        var registration = new ClientRegistration($"test client {clientId}", scopes, rateLimit ?? new RateLimit(10_000, 60), refreshTokens);
        var (client, secret) = await registry.RegisterAsync(registration, clientId)
            ?? throw new InvalidOperationException($"Client id {clientId} is already registered in this stack.");

        using var token = await app.RequestTokenAsync(client.ClientId, secret);
        var accessToken = token.RootElement.GetProperty("access_token").GetString()!;
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return new TestClient(client.ClientId, secret, accessToken, http);
    }

    /// <summary>POST /oauth/token with HTTP Basic client authentication; fails the test unless it answers 200.</summary>
    public static async Task<JsonDocument> RequestTokenAsync(this WebApplicationFactory<Program> app, string clientId, string secret,
        IReadOnlyDictionary<string, string>? form = null)
    {
        using var http = app.CreateClient();
        using var response = await http.SendAsync(TokenRequest(clientId, secret, form));
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(body)
            : throw new InvalidOperationException($"POST /oauth/token answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>A token request (client_credentials unless the form says otherwise) authenticated with HTTP Basic.</summary>
    public static HttpRequestMessage TokenRequest(string clientId, string secret, IReadOnlyDictionary<string, string>? form = null)
    {
        var fields = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        foreach (var (key, value) in form ?? new Dictionary<string, string>())
        {
            fields[key] = value;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        return request;
    }

    /// <summary>An HttpClient that sends the given bearer token.</summary>
    public static HttpClient CreateClient(this WebApplicationFactory<Program> app, string bearerToken)
    {
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        return http;
    }
}
