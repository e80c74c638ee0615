using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Auth.Signing;

namespace OrderProcessing.Tests.Notifications;

/// <summary>
/// The WebSocket API end to end: real WebSocket clients against one local host the tests of this class share. Each
/// test connects as a customer of its own and looks only at that customer's connections and orders.
/// </summary>
public sealed class WebSocketRoutesTests(SystemFixture system) : IClassFixture<SystemFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// One correlation id from the request to the notification: returned on the response, carried through the
    /// stream and every queue (the consumers' log lines carry it from the message attribute), stored on every history
    /// entry, written on every log line about the order, and sent in each WebSocket frame.
    /// </summary>
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Pending_shipped_and_delivered_arrive_in_order_once_each_with_the_requests_correlation_id()
    {
        var (_, token) = await system.NewCustomerAsync("Ordering shop");
        var (_, strangerToken) = await system.NewCustomerAsync("Stranger shop");
        using var socket = await system.ConnectAsync(token);
        using var stranger = await system.ConnectAsync(strangerToken);
        var correlationId = $"e2e-{Guid.NewGuid():N}";

        var orderId = await PlaceOrderAsync(token, correlationId);
        var frames = new List<JsonDocument>();
        while (frames.Count < 3 && await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(60)) is { } frame)
        {
            frames.Add(frame);
        }

        var late = await socket.ReceiveJsonAsync(TimeSpan.FromSeconds(2));
        var strangers = await stranger.ReceiveJsonAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], frames.Select(f => f.RootElement.GetProperty("status").GetString()));
        Assert.All(frames, f =>
        {
            Assert.Equal("order.status_changed", f.RootElement.GetProperty("type").GetString());
            Assert.Equal(orderId, f.RootElement.GetProperty("orderId").GetString());
            Assert.Equal(correlationId, f.RootElement.GetProperty("correlationId").GetString());
        });
        Assert.Equal("SHIPPED", frames[2].RootElement.GetProperty("previousStatus").GetString());
        Assert.Null(late);
        Assert.Null(strangers);

        using var http = system.Client(token);
        using var history = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/orders/{orderId}/history", UriKind.Relative)));
        var entries = history.RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], entries.Select(e => e.GetProperty("status").GetString()));
        Assert.All(entries, e => Assert.Equal(correlationId, e.GetProperty("correlationId").GetString()));

        // A line from each stage: the API, the outbox relay (stream), the delivery processor (order-events.fifo), the
        // status updater (delivery-status-queue.fifo) and the notifier; and every line of ours about the order has the id.
        var lines = system.JsonLogs.Entries
            .Where(l => l.GetProperty("logger").GetString()!.StartsWith("OrderProcessing.", StringComparison.Ordinal)
                        && l.GetProperty("message").GetString()!.Contains(orderId, StringComparison.Ordinal))
            .ToList();
        Assert.All(lines, l => Assert.Equal(correlationId, l.TryGetProperty("correlation_id", out var id) ? id.GetString() : null));
        string[] stages =
        [
            $"Order {orderId} placed", $"Published OrderCreated of order {orderId}", "created for order " + orderId,
            $"Order {orderId} Shipped -> Delivered", $"Pushed DELIVERED of order {orderId}",
        ];
        Assert.All(stages, stage => Assert.Contains(lines, l => l.GetProperty("message").GetString()!.Contains(stage, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_valid_token_connects_and_the_connection_is_stored_with_its_owner_and_a_two_hour_ttl()
    {
        var (clientId, token) = await system.NewCustomerAsync("Connecting shop");
        using var socket = await system.ConnectAsync(token);

        var items = await ConnectionItemsAsync(clientId);

        Assert.Equal(WebSocketState.Open, socket.State);
        var item = Assert.Single(items);
        Assert.Equal(clientId, item["owner"].S);
        var ttl = DateTimeOffset.FromUnixTimeSeconds(long.Parse(item["ttl"].N, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(ttl - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(115), TimeSpan.FromMinutes(121));
    }

    [Fact]
    public async Task A_browser_can_send_the_token_as_a_subprotocol_and_bearer_is_chosen()
    {
        var (clientId, token) = await system.NewCustomerAsync("Browser shop");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("bearer");
        socket.Options.AddSubProtocol(token);

        await socket.ConnectAsync(system.WebSocket, CancellationToken.None);

        Assert.Equal("bearer", socket.SubProtocol);
        Assert.Equal(clientId, Assert.Single(await ConnectionItemsAsync(clientId))["owner"].S);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJkZW1vIn0.")]
    public async Task An_invalid_token_is_refused_and_nothing_is_stored(string token)
    {
        var before = (await ConnectionItemsAsync()).Select(i => i["connectionId"].S).ToHashSet();

        var status = await RefusedStatusAsync(token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.DoesNotContain(await ConnectionItemsAsync(), i => !before.Contains(i["connectionId"].S));
    }

    [Fact]
    public async Task A_revoked_token_is_refused()
    {
        var (clientId, secret) = await system.RegisterClientAsync(Scopes.Customer);
        var token = await system.TokenAsync(clientId, secret);
        using (var http = new HttpClient { BaseAddress = system.Api })
        {
            using var revoke = OrderProcessing.Tests.Auth.RevocationTests.RevokeRequest(clientId, secret, token);
            (await http.SendAsync(revoke)).EnsureSuccessStatusCode();
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedStatusAsync(token));
    }

    [Fact]
    public async Task A_token_without_notifications_read_is_refused()
    {
        var (clientId, secret) = await system.RegisterClientAsync(Scopes.Customer);
        var token = await system.TokenAsync(clientId, secret, scope: Scopes.OrdersRead);

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedStatusAsync(token));
    }

    /// <summary>A token the host itself issued, signed again with its own key after its expiry was moved past the clock skew.</summary>
    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var (_, issued) = await system.NewCustomerAsync("Expired shop");
        var keys = system.Host.App.Services.GetRequiredService<ISigningKeys>();
        JsonObject Claims() => JsonNode.Parse(Base64UrlEncoder.Decode(issued.Split('.')[1]))!.AsObject();
        var claims = Claims();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        claims["iat"] = now - 1000;
        claims["nbf"] = now - 1000;
        claims["exp"] = now - 120;
        var expired = await Jws.SignAsync(keys, claims);
        // Signed again unchanged, the same claims connect: what refuses the other is its expiry.
        using var resigned = await system.ConnectAsync(await Jws.SignAsync(keys, Claims()));

        Assert.Equal(WebSocketState.Open, resigned.State);
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedStatusAsync(expired));
    }

    [Fact]
    public async Task Subscribing_to_another_clients_order_gets_an_error_frame_and_the_connection_stays_open()
    {
        var (_, otherToken) = await system.NewCustomerAsync("Other shop");
        var (clientId, token) = await system.NewCustomerAsync("Subscribing shop");
        var theirs = await PlaceOrderAsync(otherToken);
        var mine = await PlaceOrderAsync(token);
        using var socket = await system.ConnectAsync(token);

        await socket.SendAsync($$"""{"action":"subscribe","orderId":"{{theirs}}"}""");
        using var refused = await NextFrameAsync(socket, "error");
        await socket.SendAsync($$"""{"action":"subscribe","orderId":"{{mine}}"}""");
        using var accepted = await NextFrameAsync(socket, "subscribed");

        Assert.Equal("order_not_found", refused.RootElement.GetProperty("code").GetString());
        Assert.Equal(mine, accepted.RootElement.GetProperty("orderId").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
        var item = Assert.Single(await ConnectionItemsAsync(clientId));
        Assert.Equal([mine], item["subscriptions"].SS);
    }

    [Fact]
    public async Task Ping_answers_pong_and_an_unknown_action_gets_an_error_frame()
    {
        var (_, token) = await system.NewCustomerAsync("Pinging shop");
        using var socket = await system.ConnectAsync(token);

        await socket.SendAsync("""{"action":"ping"}""");
        using var pong = await NextFrameAsync(socket, "pong");
        await socket.SendAsync("""{"action":"dance"}""");
        using var unknown = await NextFrameAsync(socket, "error");
        await socket.SendAsync("not json");
        using var invalid = await NextFrameAsync(socket, "error");

        Assert.Equal("unknown_action", unknown.RootElement.GetProperty("code").GetString());
        Assert.Equal("invalid_message", invalid.RootElement.GetProperty("code").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact]
    public async Task Closing_the_socket_deletes_the_connection()
    {
        var (clientId, token) = await system.NewCustomerAsync("Leaving shop");
        var socket = await system.ConnectAsync(token);
        Assert.Single(await ConnectionItemsAsync(clientId));

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        socket.Dispose();

        for (var i = 0; i < 50 && (await ConnectionItemsAsync(clientId)).Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(await ConnectionItemsAsync(clientId));
    }

    private async Task<HttpStatusCode?> RefusedStatusAsync(string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.ConnectAsync(new Uri(system.WebSocket, $"?token={Uri.EscapeDataString(token)}"), CancellationToken.None));
        return socket.HttpStatusCode;
    }

    private static async Task<JsonDocument> NextFrameAsync(ClientWebSocket socket, string type)
    {
        while (true)
        {
            var frame = await socket.ReceiveJsonAsync(Wait) ?? throw new TimeoutException($"No {type} frame arrived.");
            if (frame.RootElement.GetProperty("type").GetString() == type)
            {
                return frame;
            }

            frame.Dispose();
        }
    }

    private async Task<string> PlaceOrderAsync(string token, string? correlationId = null)
    {
        using var http = system.Client(token);
        if (correlationId is not null)
        {
            http.DefaultRequestHeaders.Add("X-Correlation-Id", correlationId);
        }

        var product = await system.Data.AddProductAsync(stock: 10);
        using var response = await http.PostAsync(new Uri("/orders", UriKind.Relative), TestData.JsonContent(TestData.OrderBody([(product, 1)])));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        if (correlationId is not null)
        {
            Assert.Equal(correlationId, Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("orderId").GetString()!;
    }

    /// <summary>The Connections table's items (those of one owner when given).</summary>
    private async Task<List<Dictionary<string, AttributeValue>>> ConnectionItemsAsync(string? owner = null)
    {
        var scan = await system.Data.Dynamo.ScanAsync(new ScanRequest { TableName = system.Host.Stack.Tables["ConnectionsTable"], ConsistentRead = true });
        return (scan.Items ?? []).Where(i => owner is null || i["owner"].S == owner).ToList();
    }
}
