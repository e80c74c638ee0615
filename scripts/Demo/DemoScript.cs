using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace OrderProcessing.Demo;

/// <summary>Where the demo runs and as whom.</summary>
public sealed record DemoOptions
{
    public Uri Api { get; init; } = new("http://localhost:5000");

    /// <summary>The WebSocket API; next to a local API (port + 1, as the local host does) unless given.</summary>
    public Uri? WebSocket { get; init; }

    public string ClientId { get; init; } = "demo";

    public string ClientSecret { get; init; } = "demo-secret";

    /// <summary>A product in stock: two of it are ordered.</summary>
    public string Product { get; init; } = "demo-usb-c-cable";

    /// <summary>A product out of stock: the order for it is refused.</summary>
    public string SoldOutProduct { get; init; } = "demo-sold-out-mug";

    /// <summary>How long to wait for DELIVERED (the carrier simulator's delays add up to a minute by default).</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromMinutes(3);

    public Uri WebSocketUrl => WebSocket ?? (Api.IsLoopback
        ? new UriBuilder(Api) { Scheme = Api.Scheme == "https" ? "wss" : "ws", Port = Api.Port + 1, Path = "/" }.Uri
        : throw new DemoException($"{Api} is not local: pass the WebSocket API's URL with --ws (the stack output WebSocketUrl)."));
}

/// <summary>The demo stopped because a step did not answer as it should; the message says which and how.</summary>
public sealed class DemoException(string message) : Exception(message);

/// <summary>
/// The system end to end, as a customer app uses it: a token, availability, an order, a refused order, the order's
/// status live over a WebSocket until DELIVERED, then the token refreshed and revoked. Each step prints one line
/// of what it sent and what came back.
/// </summary>
public sealed class DemoScript(DemoOptions options, TextWriter output)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private const string Address = """{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"}""";

    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = options.Api, Timeout = TimeSpan.FromSeconds(30) };
        Say($"OrderProcessing demo against {options.Api} (WebSocket {options.WebSocketUrl}) as client {options.ClientId}");
        Say();

        // 1. A token for the customer app (client credentials, HTTP Basic).
        using var tokens = await TokenAsync(http, new() { ["grant_type"] = "client_credentials" }, cancellationToken);
        var access = tokens.RootElement.GetProperty("access_token").GetString()!;
        var refresh = tokens.RootElement.TryGetProperty("refresh_token", out var r) ? r.GetString() : null;
        Step(1, "Token", $"POST /oauth/token grant_type=client_credentials -> 200, {tokens.RootElement.GetProperty("token_type").GetString()} token " +
            $"for \"{tokens.RootElement.GetProperty("scope").GetString()}\", expires in {tokens.RootElement.GetProperty("expires_in").GetInt32()} s" +
            (refresh is null ? "" : ", with a refresh token"));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", access);

        // 2. Is what we want in stock? (reserves nothing)
        var (status, availability) = await PostAsync(http, "/check-availability", $$"""{"items":[{"productId":"{{options.Product}}","quantity":2}]}""", cancellationToken);
        Expect(status, HttpStatusCode.OK, "POST /check-availability", availability);
        var item = availability.RootElement.GetProperty("items")[0];
        Step(2, "Availability", $"POST /check-availability {options.Product} x2 -> 200, available: {Bool(availability.RootElement.GetProperty("available"))} " +
            $"(in stock {item.GetProperty("inStock").GetInt32()})");

        // 3. The WebSocket first, so that no status change of the order can be missed.
        using var socket = new ClientWebSocket();
        await ConnectAsync(socket, access, cancellationToken);
        var frames = Channel.CreateUnbounded<(TimeSpan At, JsonDocument Frame)>();
        var clock = Stopwatch.StartNew();
        var reading = ReadAsync(socket, frames.Writer, clock, cancellationToken);
        Step(3, "WebSocket", $"connected to {options.WebSocketUrl} (token in the query string)");

        // 4. The order: stock reserved in the same write, or nothing written.
        var (placed, order) = await PostAsync(http, "/orders",
            $$"""{"items":[{"productId":"{{options.Product}}","quantity":2}],"shippingAddress":{{Address}},"customerReference":"demo"}""",
            cancellationToken, ("Idempotency-Key", Guid.NewGuid().ToString()));
        Expect(placed, HttpStatusCode.Created, "POST /orders", order);
        var orderId = order.RootElement.GetProperty("orderId").GetString()!;
        clock.Restart();
        Step(4, "Order", $"POST /orders {options.Product} x2 -> 201 Created, order {orderId}, {order.RootElement.GetProperty("status").GetString()}, " +
            $"total {order.RootElement.GetProperty("total").GetDecimal().ToString("0.00", Invariant)} {order.RootElement.GetProperty("currency").GetString()}");

        // 5. An item that is sold out: 409 with per-item detail, nothing ordered.
        var (refused, problem) = await PostAsync(http, "/orders",
            $$"""{"items":[{"productId":"{{options.SoldOutProduct}}","quantity":1}],"shippingAddress":{{Address}}}""", cancellationToken);
        Expect(refused, HttpStatusCode.Conflict, "POST /orders (sold out)", problem);
        var shortItem = problem.RootElement.GetProperty("items").EnumerateArray().First(i => !i.GetProperty("available").GetBoolean());
        Step(5, "Sold out", $"POST /orders {options.SoldOutProduct} x1 -> 409 Conflict, {problem.RootElement.GetProperty("type").GetString()}: " +
            $"{shortItem.GetProperty("productId").GetString()} requested {shortItem.GetProperty("requested").GetInt32()}, in stock {shortItem.GetProperty("inStock").GetInt32()}");

        // 6. Only this order from now on, and its status changes as they come.
        await SendAsync(socket, $$"""{"action":"subscribe","orderId":"{{orderId}}"}""", cancellationToken);
        Step(6, "Live status", $"sent {{\"action\":\"subscribe\",\"orderId\":\"{orderId}\"}}; waiting up to {options.DeliveryTimeout.TotalSeconds:0} s for DELIVERED");
        await WatchAsync(frames.Reader, orderId, cancellationToken);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "demo done", cancellationToken);
        await reading;

        // 7. Refresh: the used refresh token stops working, a new pair comes back.
        if (refresh is null)
        {
            throw new DemoException($"Client {options.ClientId} gets no refresh token; the demo needs one that does (the local host's demo client).");
        }

        using var refreshed = await TokenAsync(http, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh }, cancellationToken);
        var newAccess = refreshed.RootElement.GetProperty("access_token").GetString()!;
        var newRefresh = refreshed.RootElement.GetProperty("refresh_token").GetString()!;
        Step(7, "Refresh", $"POST /oauth/token grant_type=refresh_token -> 200, a new access token and a new refresh token (the old refresh token is spent)");

        // 8. Revoke the new access token; the API refuses it from the next request on.
        var revoked = await RevokeAsync(http, newAccess, "access_token", cancellationToken);
        using var withRevoked = new HttpRequestMessage(HttpMethod.Get, $"/orders/{orderId}");
        withRevoked.Headers.Authorization = new AuthenticationHeaderValue("Bearer", newAccess);
        using var refusedAnswer = await http.SendAsync(withRevoked, cancellationToken);
        if (refusedAnswer.StatusCode != HttpStatusCode.Unauthorized)
        {
            throw new DemoException($"GET /orders/{orderId} with a revoked token answered {(int)refusedAnswer.StatusCode}, not 401.");
        }

        var challenge = refusedAnswer.Headers.WwwAuthenticate.FirstOrDefault()?.Parameter ?? "";
        Step(8, "Revoke", $"POST /oauth/revoke (access token) -> {(int)revoked}; GET /orders/{orderId} with it -> 401 Unauthorized, {challenge}");
        var revokedRefresh = await RevokeAsync(http, newRefresh, "refresh_token", cancellationToken);
        var (refreshStatus, refreshError) = await FormAsync(http, "/oauth/token", new() { ["grant_type"] = "refresh_token", ["refresh_token"] = newRefresh }, cancellationToken);
        Say($"   {"",-13}POST /oauth/revoke (refresh token) -> {(int)revokedRefresh}; refreshing with it -> {(int)refreshStatus}, " +
            $"{refreshError.RootElement.GetProperty("error").GetString()}");
        if (refreshStatus != HttpStatusCode.BadRequest)
        {
            throw new DemoException($"Refreshing with a revoked refresh token answered {(int)refreshStatus}, not 400.");
        }

        Say();
        Say("Done: every step answered as it should.");
    }

    private async Task WatchAsync(ChannelReader<(TimeSpan At, JsonDocument Frame)> frames, string orderId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.DeliveryTimeout);
        var seen = new List<string>();
        try
        {
            await foreach (var (at, frame) in frames.ReadAllAsync(timeout.Token))
            {
                using (frame)
                {
                    var root = frame.RootElement;
                    var type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
                    if (type == "subscribed")
                    {
                        Say($"   {"",-13}{Offset(at)}  subscribed to {root.GetProperty("orderId").GetString()}");
                    }
                    else if (type == "order.status_changed" && root.GetProperty("orderId").GetString() == orderId)
                    {
                        var status = root.GetProperty("status").GetString()!;
                        seen.Add(status);
                        var previous = root.TryGetProperty("previousStatus", out var p) ? $" (was {p.GetString()})" : "";
                        Say($"   {"",-13}{Offset(at)}  {status}{previous}");
                        if (status is "DELIVERED" or "DELIVERY_FAILED" or "CANCELLED")
                        {
                            break;
                        }
                    }
                    else if (type == "error")
                    {
                        throw new DemoException($"The WebSocket answered an error: {root.GetRawText()}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DemoException($"No DELIVERED within {options.DeliveryTimeout.TotalSeconds:0} s (seen: {string.Join(", ", seen)}). " +
                "Is the carrier simulator on, and are its delays short? See docs/local-development.md, \"End-to-end demo\".");
        }

        if (!seen.Contains("SHIPPED") || !seen.Contains("DELIVERED"))
        {
            throw new DemoException($"Expected SHIPPED and DELIVERED over the WebSocket, saw {string.Join(", ", seen)}.");
        }
    }

    private static string Offset(TimeSpan at) => string.Create(Invariant, $"+{at.TotalSeconds,5:0.0} s");

    private async Task ConnectAsync(ClientWebSocket socket, string token, CancellationToken cancellationToken)
    {
        socket.Options.CollectHttpResponseDetails = true;
        try
        {
            await socket.ConnectAsync(new Uri(options.WebSocketUrl, $"?token={Uri.EscapeDataString(token)}"), cancellationToken);
        }
        catch (WebSocketException e)
        {
            throw new DemoException($"Could not open the WebSocket {options.WebSocketUrl} ({(int)socket.HttpStatusCode}): {e.Message}");
        }
    }

    private static async Task ReadAsync(ClientWebSocket socket, ChannelWriter<(TimeSpan, JsonDocument)> frames, Stopwatch clock, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, cancellationToken);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                frames.TryWrite((clock.Elapsed, JsonDocument.Parse(message.ToArray())));
            }
        }
        catch (WebSocketException)
        {
            // The server went away: the watcher reports what it saw.
        }
        finally
        {
            frames.TryComplete();
        }
    }

    private static Task SendAsync(ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    private async Task<JsonDocument> TokenAsync(HttpClient http, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        var (status, body) = await FormAsync(http, "/oauth/token", form, cancellationToken);
        Expect(status, HttpStatusCode.OK, $"POST /oauth/token grant_type={form["grant_type"]}", body);
        return body;
    }

    private async Task<HttpStatusCode> RevokeAsync(HttpClient http, string token, string hint, CancellationToken cancellationToken)
    {
        var (status, body) = await FormAsync(http, "/oauth/revoke", new() { ["token"] = token, ["token_type_hint"] = hint }, cancellationToken);
        Expect(status, HttpStatusCode.OK, "POST /oauth/revoke", body);
        return status;
    }

    /// <summary>An OAuth form post, the client authenticated with HTTP Basic (never with the bearer token).</summary>
    private async Task<(HttpStatusCode, JsonDocument)> FormAsync(HttpClient http, string path, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(options.ClientId)}:{Uri.EscapeDataString(options.ClientSecret)}")));
        using var response = await SendAsync(http, request, cancellationToken);
        return (response.StatusCode, await JsonAsync(response, cancellationToken));
    }

    private static async Task<(HttpStatusCode, JsonDocument)> PostAsync(HttpClient http, string path, string json, CancellationToken cancellationToken,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await SendAsync(http, request, cancellationToken);
        return (response.StatusCode, await JsonAsync(response, cancellationToken));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new DemoException($"{request.Method} {new Uri(http.BaseAddress!, request.RequestUri!)} failed: {e.Message}. Is the local host running (scripts/run-local)?");
        }
    }

    private static async Task<JsonDocument> JsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        }
        catch (JsonException)
        {
            throw new DemoException($"{(int)response.StatusCode} with a body that is not JSON: {text[..Math.Min(200, text.Length)]}");
        }
    }

    private static void Expect(HttpStatusCode status, HttpStatusCode expected, string what, JsonDocument body)
    {
        if (status != expected)
        {
            throw new DemoException($"{what} answered {(int)status} {status}, not {(int)expected}: {body.RootElement.GetRawText()}");
        }
    }

    private static string Bool(JsonElement value) => value.GetBoolean() ? "true" : "false";

    private void Step(int number, string name, string text) => Say($"{number}. {name,-13}{text}");

    private void Say(string line = "") => output.WriteLine(line);
}
