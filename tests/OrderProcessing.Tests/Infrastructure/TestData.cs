using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Delivery;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>A registered OAuth client, its secret, and an HttpClient that sends its bearer token.</summary>
public sealed record TestClient(string ClientId, string Secret, string AccessToken, HttpClient Http) : IDisposable
{
    public void Dispose() => Http.Dispose();
}

/// <summary>
/// The one builder of test data: products, OAuth clients and their tokens, order requests with their shipping
/// address, delivery status messages. Every id it makes is new, so tests that share a fixture never see each
/// other's data. What is written to a stack's tables and read back goes through <see cref="StackData"/>.
/// </summary>
public static class TestData
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The shipping address of every order a test places, unless the test is about the address.</summary>
    public static readonly object Address = new
    {
        name = "Ada Lovelace",
        line1 = "12 St James's Square",
        city = "London",
        postalCode = "SW1Y 4JH",
        country = "GB",
    };

    /// <summary>A product id no other test uses.</summary>
    public static string ProductId() => $"p-{Guid.NewGuid():N}";

    /// <summary>A product as the Products table holds it, with a new id unless given.</summary>
    public static Product Product(int stock, decimal price = 10m, string currency = "EUR", string? name = null, string? id = null)
    {
        id ??= ProductId();
        var now = DateTimeOffset.UtcNow;
        return new Product(id, name ?? $"Product {id[..8]}", null, price, currency, stock, now, now);
    }

    /// <summary>The JSON body of POST /orders.</summary>
    public static string OrderBody(IEnumerable<(string ProductId, int Quantity)> items, string? customerReference = null) =>
        JsonSerializer.Serialize(new
        {
            items = items.Select(i => new { productId = i.ProductId, quantity = i.Quantity }),
            shippingAddress = Address,
            customerReference,
        }, Json);

    /// <summary>A delivery status change as the carrier integration puts it on delivery-status-queue.fifo.</summary>
    public static string StatusChange(string orderId, DeliveryStatus status, string source = DeliverySources.CarrierWebhook) =>
        JsonSerializer.Serialize(new DeliveryStatusChanged(orderId, ShipmentIds.For(orderId), status, DateTimeOffset.UtcNow,
            ShipmentIds.StatusEventId(ShipmentIds.For(orderId), status), source), DeliveryJson.Default.DeliveryStatusChanged);

    public static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>POST of a JSON body, with an Idempotency-Key when given.</summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent(json) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    public static async Task<JsonDocument> BodyAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<T>(Json))!;

    /// <summary>
    /// Registers an OAuth client in the stack of the app whose services these are (a generous rate limit unless given),
    /// as POST /admin/clients does; answers its id and secret.
    /// </summary>
    public static async Task<(string ClientId, string Secret)> RegisterClientAsync(IServiceProvider app, IReadOnlyList<string> scopes,
        string? clientId = null, RateLimit? rateLimit = null, bool refreshTokens = false)
    {
        var registration = new ClientRegistration($"test client {clientId}", scopes, rateLimit ?? new RateLimit(10_000, 60), refreshTokens);
        var (client, secret) = await app.GetRequiredService<ClientRegistry>().RegisterAsync(registration, clientId)
            ?? throw new InvalidOperationException($"Client id {clientId} is already registered in this stack.");
        return (client.ClientId, secret);
    }

    /// <summary>The form of a refresh_token grant (RFC 6749 section 6), narrowed to these scopes when given.</summary>
    public static Dictionary<string, string> RefreshGrant(string refreshToken, string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken };
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        return form;
    }

    /// <summary>A token request (client_credentials unless the form says otherwise) authenticated with HTTP Basic.</summary>
    public static HttpRequestMessage TokenRequest(string clientId, string secret, IReadOnlyDictionary<string, string>? form = null)
    {
        var fields = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        foreach (var (key, value) in form ?? new Dictionary<string, string>())
        {
            fields[key] = value;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/oauth/token", UriKind.Relative)) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        return request;
    }

    /// <summary>POST /oauth/token through <paramref name="http"/> (the API's root); fails the test unless it answers 200.</summary>
    public static async Task<JsonDocument> RequestTokenAsync(HttpClient http, string clientId, string secret, IReadOnlyDictionary<string, string>? form = null)
    {
        using var request = TokenRequest(clientId, secret, form);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(body)
            : throw new InvalidOperationException($"POST /oauth/token answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>The access token of a client_credentials grant (for these scopes when given).</summary>
    public static async Task<string> AccessTokenAsync(HttpClient http, string clientId, string secret, string? scope = null)
    {
        using var token = await RequestTokenAsync(http, clientId, secret, scope is null ? null : new Dictionary<string, string> { ["scope"] = scope });
        return token.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Registers an OAuth client in the in-process app's stack; answers its id and secret.</summary>
    public static Task<(string ClientId, string Secret)> RegisterClientAsync(this WebApplicationFactory<Program> app, IReadOnlyList<string> scopes,
        string? clientId = null, RateLimit? rateLimit = null, bool refreshTokens = false) =>
        RegisterClientAsync(app.Services, scopes, clientId, rateLimit, refreshTokens);

    /// <summary>A new client of the in-process app with these scopes and an HttpClient carrying its real token.</summary>
    public static async Task<TestClient> CreateClientAsync(this WebApplicationFactory<Program> app, IReadOnlyList<string> scopes,
        string? clientId = null, RateLimit? rateLimit = null, bool refreshTokens = false)
    {
        var (id, secret) = await RegisterClientAsync(app.Services, scopes, clientId, rateLimit, refreshTokens);
        using var token = await app.RequestTokenAsync(id, secret);
        var accessToken = token.RootElement.GetProperty("access_token").GetString()!;
        return new TestClient(id, secret, accessToken, app.CreateClient(accessToken));
    }

    /// <summary>POST /oauth/token of the in-process app with HTTP Basic client authentication; fails the test unless it answers 200.</summary>
    public static async Task<JsonDocument> RequestTokenAsync(this WebApplicationFactory<Program> app, string clientId, string secret,
        IReadOnlyDictionary<string, string>? form = null)
    {
        using var http = app.CreateClient();
        return await RequestTokenAsync(http, clientId, secret, form);
    }

    /// <summary>An HttpClient of the in-process app that sends the given bearer token.</summary>
    public static HttpClient CreateClient(this WebApplicationFactory<Program> app, string bearerToken) => app.CreateClient().WithBearer(bearerToken);

    /// <summary>Sends <paramref name="bearerToken"/> on every request of <paramref name="http"/>, which is returned.</summary>
    public static HttpClient WithBearer(this HttpClient http, string bearerToken)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        return http;
    }
}
