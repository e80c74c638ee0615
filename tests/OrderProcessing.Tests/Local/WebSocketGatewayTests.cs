using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Local.Cloud;
using OrderProcessing.Local.WebSockets;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// The local API Gateway WebSocket API against a recording integration that answers as a Lambda function
/// behind the Web Adapter would: accept a $connect with token=good, answer "ping" with a body, nothing else.
/// </summary>
public sealed class WebSocketGatewayTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<JsonNode> _events = new();
    private WebApplication _integration = null!;
    private WebSocketGateway _gateway = null!;

    private static readonly HashSet<string> Routes = ["subscribe", "unsubscribe", "ping"];

    public async ValueTask InitializeAsync() => await StartAsync(new WebSocketLimits());

    private async Task StartAsync(WebSocketLimits limits)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _integration = builder.Build();
        _integration.MapPost("/events", async (HttpContext context) =>
        {
            var evt = (await JsonNode.ParseAsync(context.Request.Body))!;
            _events.Enqueue(evt);
            var route = evt["requestContext"]!["routeKey"]!.GetValue<string>();
            return route switch
            {
                "$connect" when evt["queryStringParameters"]?["token"]?.GetValue<string>() == "good" => Results.Json(new { statusCode = 200 }),
                "$connect" => Results.Json(new { statusCode = 401 }),
                "ping" => Results.Json(new { statusCode = 200, body = "{\"type\":\"pong\"}" }),
                _ => Results.Json(new { statusCode = 200 }),
            };
        });
        await _integration.StartAsync();
        var events = new Uri(new Uri(_integration.Urls.First()), "/events");
        _gateway = await WebSocketGateway.StartAsync(
            new WebSocketGatewayOptions { Url = "http://127.0.0.1:0", Routes = Routes, Limits = limits },
            () => events,
            NullLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _integration.StopAsync();
        await _integration.DisposeAsync();
    }

    [Fact]
    public async Task A_connect_event_has_API_Gateways_shape_and_the_query_string()
    {
        using var client = await ConnectAsync("good");

        var connect = Assert.Single(_events, e => Route(e) == "$connect");
        var context = connect["requestContext"]!;
        Assert.Equal("CONNECT", context["eventType"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(context["connectionId"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(context["requestId"]!.GetValue<string>()));
        Assert.Equal("local", context["stage"]!.GetValue<string>());
        Assert.Equal(_gateway.Endpoint.Authority, context["domainName"]!.GetValue<string>());
        Assert.True(context["connectedAt"]!.GetValue<long>() > 0);
        Assert.Equal("good", connect["queryStringParameters"]!["token"]!.GetValue<string>());
        Assert.Equal(1, _gateway.OpenConnections);
    }

    [Fact]
    public async Task A_connect_the_integration_refuses_is_answered_with_its_status_and_no_socket()
    {
        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync(new Uri(_gateway.Endpoint, "?token=bad"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, client.HttpStatusCode);
        Assert.Equal(0, _gateway.OpenConnections);
    }

    [Theory]
    [InlineData("{\"action\":\"subscribe\",\"orderId\":\"o-1\"}", "subscribe")]
    [InlineData("{\"action\":\"dance\"}", "$default")]
    [InlineData("{\"action\":42}", "$default")]
    [InlineData("not json", "$default")]
    [InlineData("[1,2]", "$default")]
    public void Routes_are_selected_on_the_action_of_the_body(string body, string route) =>
        Assert.Equal(route, WebSocketGateway.SelectRoute(body, Routes));

    [Fact]
    public async Task A_message_reaches_its_route_with_the_body_and_a_two_way_route_answers()
    {
        using var client = await ConnectAsync("good");

        await SendAsync(client, "{\"action\":\"ping\"}");
        var reply = await ReceiveAsync(client);

        Assert.Equal("{\"type\":\"pong\"}", reply);
        var message = Assert.Single(_events, e => Route(e) == "ping");
        Assert.Equal("MESSAGE", message["requestContext"]!["eventType"]!.GetValue<string>());
        Assert.Equal("{\"action\":\"ping\"}", message["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_management_API_sends_describes_and_disconnects_and_answers_GoneException_for_gone_ids()
    {
        using var client = await ConnectAsync("good");
        var connectionId = ConnectionId();
        using var http = ConnectionsApiClients.SignedHttp();
        var endpoint = $"{_gateway.CallbackUrl}/@connections/{Uri.EscapeDataString(connectionId)}";

        using var posted = await http.PostAsync(endpoint, Json("{\"type\":\"hello\"}"));
        var pushed = await ReceiveAsync(client);
        using var info = await http.GetAsync(endpoint);
        var infoBody = JsonNode.Parse(await info.Content.ReadAsStringAsync())!;
        using var deleted = await http.DeleteAsync(endpoint);
        var closing = await ReceiveCloseAsync(client);
        await WaitForAsync(() => _events.Any(e => Route(e) == "$disconnect"));

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal("{\"type\":\"hello\"}", pushed);
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        Assert.NotNull(infoBody["connectedAt"]);
        Assert.NotNull(infoBody["identity"]!["sourceIp"]);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closing);
        var disconnect = Assert.Single(_events, e => Route(e) == "$disconnect");
        Assert.Equal(connectionId, disconnect["requestContext"]!["connectionId"]!.GetValue<string>());
        Assert.Equal("DISCONNECT", disconnect["requestContext"]!["eventType"]!.GetValue<string>());

        // Every verb on the gone id answers as API Gateway does, which the AWS SDKs turn into GoneException.
        using var postGone = await http.PostAsync(endpoint, Json("{}"));
        using var getGone = await http.GetAsync(endpoint);
        using var deleteGone = await http.DeleteAsync(endpoint);
        foreach (var gone in new[] { postGone, getGone, deleteGone })
        {
            Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
            Assert.Equal("GoneException", gone.Headers.GetValues("x-amzn-ErrorType").Single());
        }

        // The app's management client sees the same: GoneException for POST and DELETE, "not there" for GET.
        var management = ConnectionsApiClients.Management(_gateway.CallbackUrl);
        await Assert.ThrowsAsync<OrderProcessing.Functions.Notifications.GoneException>(() =>
            management.PostToConnectionAsync(new(connectionId, "{}"u8.ToArray()), CancellationToken.None));
        await Assert.ThrowsAsync<OrderProcessing.Functions.Notifications.GoneException>(() =>
            management.DeleteConnectionAsync(connectionId, CancellationToken.None));
        Assert.False(await management.GetConnectionAsync(connectionId, CancellationToken.None));
    }

    [Fact]
    public async Task The_management_API_refuses_requests_without_a_valid_signature_with_ForbiddenException()
    {
        using var client = await ConnectAsync("good");
        var endpoint = new Uri($"{_gateway.CallbackUrl}/@connections/{Uri.EscapeDataString(ConnectionId())}");
        using var unsigned = new HttpClient();

        using var none = await unsigned.PostAsync(endpoint, Json("{\"type\":\"no signature\"}"));
        using var noneGet = await unsigned.GetAsync(endpoint);
        using var noneDelete = await unsigned.DeleteAsync(endpoint);
        using var malformed = await SendAsync(unsigned, HttpMethod.Post, endpoint, "AWS4-HMAC-SHA256 Credential=local, Signature=abc");
        using var otherScheme = await SendAsync(unsigned, HttpMethod.Post, endpoint, "Bearer a-token");
        foreach (var refused in new[] { none, noneGet, noneDelete, malformed, otherScheme })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("ForbiddenException", refused.Headers.GetValues("x-amzn-ErrorType").Single());
            var message = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["message"]!.GetValue<string>();
            Assert.False(string.IsNullOrWhiteSpace(message));
        }

        Assert.Equal("Missing Authentication Token", JsonNode.Parse(await none.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());

        // Well formed, but not the accepted identity, or signed with the wrong secret: refused too, as AWS does.
        using var stranger = ConnectionsApiClients.SignedHttp("someone-else", LocalCloud.SecretAccessKey);
        using var wrongSecret = ConnectionsApiClients.SignedHttp(LocalCloud.AccessKeyId, "not-the-secret");
        using var unknownKey = await stranger.PostAsync(endpoint, Json("{\"type\":\"stranger\"}"));
        using var badSignature = await wrongSecret.PostAsync(endpoint, Json("{\"type\":\"wrong secret\"}"));
        Assert.Equal(HttpStatusCode.Forbidden, unknownKey.StatusCode);
        Assert.Equal("UnrecognizedClientException", unknownKey.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(HttpStatusCode.Forbidden, badSignature.StatusCode);
        Assert.Equal("InvalidSignatureException", badSignature.Headers.GetValues("x-amzn-ErrorType").Single());

        // A signed request whose body was changed after signing does not verify.
        using var changing = ConnectionsApiClients.SignedHttp(afterSigning: new BodyChange("{\"type\":\"changed\"}"));
        using var tampered = await changing.PostAsync(endpoint, Json("{\"type\":\"signed\"}"));
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);
        Assert.Equal("InvalidSignatureException", tampered.Headers.GetValues("x-amzn-ErrorType").Single());
        using var signed = ConnectionsApiClients.SignedHttp();

        // Nothing refused reached the client; the accepted identity's push does.
        using var accepted = await signed.PostAsync(endpoint, Json("{\"type\":\"accepted\"}"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("{\"type\":\"accepted\"}", await ReceiveAsync(client));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, Uri uri, string authorization)
    {
        var request = new HttpRequestMessage(method, uri) { Content = Json("{}") };
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        return http.SendAsync(request);
    }

    /// <summary>Replaces the body of a signed request, as a request changed in transit would arrive.</summary>
    private sealed class BodyChange(string body) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Content = Json(body);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task A_frame_over_32_KB_closes_the_connection_with_1009()
    {
        using var client = await ConnectAsync("good");

        await client.SendAsync(new byte[(32 * 1024) + 1], WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await ReceiveCloseAsync(client));
    }

    [Fact]
    public async Task A_message_over_128_KB_in_small_frames_closes_the_connection_with_1009()
    {
        using var client = await ConnectAsync("good");
        var frame = Encoding.UTF8.GetBytes(new string('a', 16 * 1024));

        for (var i = 0; i < 9; i++)
        {
            await client.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await ReceiveCloseAsync(client));
        Assert.DoesNotContain(_events, e => Route(e) == "$default");
    }

    [Fact]
    public async Task An_idle_connection_is_closed_and_its_disconnect_reported()
    {
        await DisposeAsync();
        _events.Clear();
        await StartAsync(new WebSocketLimits { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = await ConnectAsync("good");

        var status = await ReceiveCloseAsync(client);
        await WaitForAsync(() => _events.Any(e => Route(e) == "$disconnect"));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        var disconnect = Assert.Single(_events, e => Route(e) == "$disconnect");
        Assert.Equal("Idle timeout", disconnect["requestContext"]!["disconnectReason"]!.GetValue<string>());
    }

    private async Task<ClientWebSocket> ConnectAsync(string token)
    {
        var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri(_gateway.Endpoint, $"?token={token}"), CancellationToken.None);
        return client;
    }

    private string ConnectionId() =>
        _events.First(e => Route(e) == "$connect")["requestContext"]!["connectionId"]!.GetValue<string>();

    private static string Route(JsonNode e) => e["requestContext"]!["routeKey"]!.GetValue<string>();

    private static Task SendAsync(ClientWebSocket client, string text) =>
        client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    private static async Task<string> ReceiveAsync(ClientWebSocket client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        var result = await client.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    private static async Task<WebSocketCloseStatus?> ReceiveCloseAsync(ClientWebSocket client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[1024];
        while (true)
        {
            var result = await client.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }
    }
}
