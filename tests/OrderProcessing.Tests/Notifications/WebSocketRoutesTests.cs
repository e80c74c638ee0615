using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;

namespace OrderProcessing.Tests.Notifications;

/// <summary>The WebSocket API end to end: real WebSocket clients against the local host.</summary>
public sealed class WebSocketRoutesTests(CloudFixture cloud) : IAsyncLifetime
{
    private readonly LocalHostFixture _system = new(cloud);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public ValueTask InitializeAsync() => _system.InitializeAsync();

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    /// <summary>
    /// One correlation id from the request to the notification: returned on the response, carried through the
    /// stream and every queue (the consumers' log lines carry it from the message attribute), stored on every history
    /// entry, written on every log line about the order, and sent in each WebSocket frame.
    /// </summary>
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Pending_shipped_and_delivered_arrive_in_order_once_each_with_the_requests_correlation_id()
    {
        var token = await _system.TokenAsync("demo", "demo-secret");
        var (_, strangerToken) = await _system.NewCustomerAsync("Stranger shop");
        using var socket = await _system.ConnectAsync(token);
        using var stranger = await _system.ConnectAsync(strangerToken);
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

        using var http = _system.Client(token);
        using var history = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/orders/{orderId}/history", UriKind.Relative)));
        var entries = history.RootElement.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(["PENDING_SHIPMENT", "SHIPPED", "DELIVERED"], entries.Select(e => e.GetProperty("status").GetString()));
        Assert.All(entries, e => Assert.Equal(correlationId, e.GetProperty("correlationId").GetString()));

        // A line from each stage: the API, the outbox relay (stream), the delivery processor (order-events.fifo), the
        // status updater (delivery-status-queue.fifo) and the notifier; and every line of ours about the order has the id.
        var lines = _system.Logs.Entries
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
        var token = await _system.TokenAsync("demo", "demo-secret");
        using var socket = await _system.ConnectAsync(token);

        var items = await ConnectionItemsAsync();

        Assert.Equal(WebSocketState.Open, socket.State);
        var item = Assert.Single(items);
        Assert.Equal("demo", item["owner"].S);
        var ttl = DateTimeOffset.FromUnixTimeSeconds(long.Parse(item["ttl"].N, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(ttl - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(115), TimeSpan.FromMinutes(121));
    }

    [Fact]
    public async Task A_browser_can_send_the_token_as_a_subprotocol_and_bearer_is_chosen()
    {
        var token = await _system.TokenAsync("demo", "demo-secret");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("bearer");
        socket.Options.AddSubProtocol(token);

        await socket.ConnectAsync(_system.WebSocket, CancellationToken.None);

        Assert.Equal("bearer", socket.SubProtocol);
        Assert.Equal("demo", Assert.Single(await ConnectionItemsAsync())["owner"].S);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJkZW1vIn0.")]
    public async Task An_invalid_token_is_refused_and_nothing_is_stored(string token)
    {
        var status = await RefusedStatusAsync(token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Empty(await ConnectionItemsAsync());
    }

    [Fact]
    public async Task A_revoked_token_is_refused()
    {
        var token = await _system.TokenAsync("demo", "demo-secret");
        using (var http = new HttpClient { BaseAddress = _system.Api })
        {
            using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
            };
            revoke.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("demo:demo-secret"u8.ToArray()));
            (await http.SendAsync(revoke)).EnsureSuccessStatusCode();
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedStatusAsync(token));
    }

    [Fact]
    public async Task A_token_without_notifications_read_is_refused()
    {
        var token = await _system.TokenAsync("demo", "demo-secret", scope: "orders:read");

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedStatusAsync(token));
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        await using var shortLived = new LocalHostFixture(cloud, new Dictionary<string, string?>
        {
            ["AUTH_ACCESS_TOKEN_SECONDS"] = "1",
            ["AUTH_CLOCK_SKEW_SECONDS"] = "1",
        });
        await shortLived.InitializeAsync();
        var token = await shortLived.TokenAsync("demo", "demo-secret");
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.ConnectAsync(new Uri(shortLived.WebSocket, $"?token={Uri.EscapeDataString(token)}"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    [Fact]
    public async Task Subscribing_to_another_clients_order_gets_an_error_frame_and_the_connection_stays_open()
    {
        var (_, otherToken) = await _system.NewCustomerAsync("Other shop");
        var theirs = await PlaceOrderAsync(otherToken);
        var mine = await PlaceOrderAsync(await _system.TokenAsync("demo", "demo-secret"));
        using var socket = await _system.ConnectAsync(await _system.TokenAsync("demo", "demo-secret"));

        await socket.SendAsync($$"""{"action":"subscribe","orderId":"{{theirs}}"}""");
        using var refused = await NextFrameAsync(socket, "error");
        await socket.SendAsync($$"""{"action":"subscribe","orderId":"{{mine}}"}""");
        using var accepted = await NextFrameAsync(socket, "subscribed");

        Assert.Equal("order_not_found", refused.RootElement.GetProperty("code").GetString());
        Assert.Equal(mine, accepted.RootElement.GetProperty("orderId").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
        var item = Assert.Single(await ConnectionItemsAsync());
        Assert.Equal([mine], item["subscriptions"].SS);
    }

    [Fact]
    public async Task Ping_answers_pong_and_an_unknown_action_gets_an_error_frame()
    {
        using var socket = await _system.ConnectAsync(await _system.TokenAsync("demo", "demo-secret"));

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
        var socket = await _system.ConnectAsync(await _system.TokenAsync("demo", "demo-secret"));
        Assert.Single(await ConnectionItemsAsync());

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        socket.Dispose();

        for (var i = 0; i < 50 && (await ConnectionItemsAsync()).Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(await ConnectionItemsAsync());
    }

    private async Task<HttpStatusCode?> RefusedStatusAsync(string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.ConnectAsync(new Uri(_system.WebSocket, $"?token={Uri.EscapeDataString(token)}"), CancellationToken.None));
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
        using var http = _system.Client(token);
        if (correlationId is not null)
        {
            http.DefaultRequestHeaders.Add("X-Correlation-Id", correlationId);
        }

        using var response = await http.PostAsJsonAsync(new Uri("/orders", UriKind.Relative), new
        {
            items = new[] { new { productId = "demo-mechanical-keyboard", quantity = 1 } },
            shippingAddress = new { name = "Ada", line1 = "1 Road", city = "London", postalCode = "EC1A 1BB", country = "GB" },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        if (correlationId is not null)
        {
            Assert.Equal(correlationId, Assert.Single(response.Headers.GetValues("X-Correlation-Id")));
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("orderId").GetString()!;
    }

    private async Task<List<Dictionary<string, AttributeValue>>> ConnectionItemsAsync()
    {
        using var dynamo = cloud.CreateDynamoDbClient();
        var scan = await dynamo.ScanAsync(new ScanRequest { TableName = _system.Host.Stack.Tables["ConnectionsTable"], ConsistentRead = true });
        return scan.Items;
    }
}
