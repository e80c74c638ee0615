using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using OrderProcessing.Local;

namespace OrderProcessing.Tests.Infrastructure;

/// <summary>
/// The whole system as the local host runs it (API, WebSocket API, event source mappings, seeded demo data)
/// on the run's shared emulators, on free ports, under a stack name of its own. <paramref name="configure"/> changes
/// the options further (another cloud, a shorter visibility timeout, how events reach the app).
/// </summary>
public sealed class LocalHostFixture(CloudFixture cloud, IReadOnlyDictionary<string, string?>? extraSettings = null,
    Func<LocalHostOptions, LocalHostOptions>? configure = null) : IAsyncLifetime
{
    public LocalHost Host { get; private set; } = null!;

    /// <summary>The app's log lines as its JSON formatter writes them.</summary>
    public JsonLogCapture Logs { get; } = new();

    public Uri Api => Host.Urls[0];

    public Uri WebSocket => Host.WebSockets.Endpoint;

    /// <summary>Knobs for the system under test (e.g. the carrier simulator's delays).</summary>
    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["CARRIER_PICKUP_DELAY_SECONDS"] = "0",
        ["CARRIER_TRANSIT_DELAY_SECONDS"] = "0",
        ["CARRIER_DELIVERY_DELAY_SECONDS"] = "0",
        ["AUTH_SECRET_HASH_ITERATIONS"] = "1000",
    };

    public async ValueTask InitializeAsync()
    {
        var keys = Directory.CreateTempSubdirectory("op-keys").FullName;
        var options = new LocalHostOptions
        {
            RepositoryRoot = Repository.Root,
            Cloud = cloud.Cloud,
            Urls = ["http://127.0.0.1:0"],
            WebSocketUrl = "http://127.0.0.1:0",
            StackName = $"e2e-{Guid.NewGuid().ToString("N")[..8]}",
            LoggerProviders = [Logs],
            Settings = new Dictionary<string, string?>(Settings.Concat(extraSettings ?? new Dictionary<string, string?>()))
            {
                ["AUTH_LOCAL_KEY_DIR"] = keys,
            },
        };
        Host = await LocalHost.StartAsync(configure?.Invoke(options) ?? options);
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }

    /// <summary>An access token for a seeded client (demo: every customer scope; admin: admin).</summary>
    public async Task<string> TokenAsync(string clientId, string secret, string? scope = null)
    {
        using var http = new HttpClient { BaseAddress = Api };
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Registers a new customer client through the admin API and answers its id and a token.</summary>
    public async Task<(string ClientId, string Token)> NewCustomerAsync(string name)
    {
        var admin = await TokenAsync("admin", "admin-secret");
        using var http = new HttpClient { BaseAddress = Api };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using var response = await http.PostAsJsonAsync("/admin/clients", new
        {
            name,
            scopes = OrderProcessing.Functions.Auth.Scopes.Customer,
        });
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var clientId = body.RootElement.GetProperty("clientId").GetString()!;
        var secret = body.RootElement.GetProperty("clientSecret").GetString()!;
        return (clientId, await TokenAsync(clientId, secret));
    }

    public HttpClient Client(string token)
    {
        var http = new HttpClient { BaseAddress = Api };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async Task<ClientWebSocket> ConnectAsync(string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await socket.ConnectAsync(new Uri(WebSocket, $"?token={Uri.EscapeDataString(token)}"), CancellationToken.None);
        return socket;
    }
}

/// <summary>Reading and writing WebSocket frames in tests.</summary>
public static class Frames
{
    public static Task SendAsync(this ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next text frame, or null when none comes in time (the socket is then unusable).</summary>
    public static async Task<JsonDocument?> ReceiveJsonAsync(this ClientWebSocket socket, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[64 * 1024];
        try
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            return result.MessageType == WebSocketMessageType.Close ? null : JsonDocument.Parse(message.ToArray());
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
