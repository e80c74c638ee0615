using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OrderProcessing.Functions.Notifications;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Local.WebSockets;

namespace OrderProcessing.Tests.Notifications;

/// <summary>
/// The pusher against the real Connections table and the local WebSocket gateway, whose $connect is
/// accepted by a stand-in integration so these tests need no token (the WebSocket routes are tested end to end
/// elsewhere).
/// </summary>
public sealed class OrderStatusPusherTests(CloudFixture cloud) : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _connected = new();
    private WebApplication _integration = null!;
    private WebSocketGateway _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _integration = builder.Build();
        _integration.MapPost("/events", async (HttpContext context) =>
        {
            var evt = (await JsonNode.ParseAsync(context.Request.Body))!;
            if (evt["requestContext"]!["routeKey"]!.GetValue<string>() == "$connect")
            {
                _connected.Enqueue(evt["requestContext"]!["connectionId"]!.GetValue<string>());
            }

            return Results.Json(new { statusCode = 200 });
        });
        await _integration.StartAsync();
        var events = new Uri(new Uri(_integration.Urls.First()), "/events");
        _gateway = await WebSocketGateway.StartAsync(new WebSocketGatewayOptions { Url = "http://127.0.0.1:0" }, () => events, NullLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _integration.DisposeAsync();
    }

    [Fact]
    public async Task Every_connection_of_the_owner_that_wants_the_order_receives_the_change_once()
    {
        await using var app = await CreateAppAsync(_gateway.CallbackUrl.ToString());
        var store = app.Services.GetRequiredService<ConnectionStore>();
        var (phone, phoneId) = await OpenAsync();
        var (laptop, laptopId) = await OpenAsync();
        var (narrowed, narrowedId) = await OpenAsync();
        var (stranger, strangerId) = await OpenAsync();
        await store.AddAsync(phoneId, "client-a", CancellationToken.None);
        await store.AddAsync(laptopId, "client-a", CancellationToken.None);
        await store.AddAsync(narrowedId, "client-a", CancellationToken.None);
        await store.SubscribeAsync(narrowedId, "another-order", subscribe: true, CancellationToken.None);
        await store.AddAsync(strangerId, "client-b", CancellationToken.None);
        var change = new OrderStatusChanged("order-1", "SHIPPED", "PENDING_SHIPMENT", DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), "corr-1");

        var sent = await Pusher(app).PushAsync("client-a", change, CancellationToken.None);

        Assert.Equal(2, sent);
        foreach (var client in new[] { phone, laptop })
        {
            using var message = JsonDocument.Parse(await ReceiveAsync(client, TimeSpan.FromSeconds(10)) ?? "null");
            var root = message.RootElement;
            Assert.Equal("order.status_changed", root.GetProperty("type").GetString());
            Assert.Equal("order-1", root.GetProperty("orderId").GetString());
            Assert.Equal("SHIPPED", root.GetProperty("status").GetString());
            Assert.Equal("PENDING_SHIPMENT", root.GetProperty("previousStatus").GetString());
            Assert.Equal("corr-1", root.GetProperty("correlationId").GetString());
            Assert.Equal(DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), root.GetProperty("occurredAt").GetDateTimeOffset());
        }

        Assert.Null(await ReceiveAsync(phone, TimeSpan.FromMilliseconds(500)));
        Assert.Null(await ReceiveAsync(narrowed, TimeSpan.FromMilliseconds(200)));
        Assert.Null(await ReceiveAsync(stranger, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_gone_connection_is_deleted_from_the_table_on_the_next_push()
    {
        await using var app = await CreateAppAsync(_gateway.CallbackUrl.ToString());
        var store = app.Services.GetRequiredService<ConnectionStore>();
        await store.AddAsync("gone-connection", "client-g", CancellationToken.None);
        var (live, liveId) = await OpenAsync();
        await store.AddAsync(liveId, "client-g", CancellationToken.None);

        var sent = await Pusher(app).PushAsync("client-g", new OrderStatusChanged("o", "DELIVERED", "SHIPPED", DateTimeOffset.UtcNow, "c"), CancellationToken.None);

        Assert.Equal(1, sent);
        Assert.NotNull(await ReceiveAsync(live, TimeSpan.FromSeconds(10)));
        Assert.Null(await store.GetAsync("gone-connection", CancellationToken.None));
        Assert.NotNull(await store.GetAsync(liveId, CancellationToken.None));
    }

    [Fact]
    public async Task A_status_change_announced_again_is_pushed_once_and_the_next_version_again()
    {
        await using var app = await CreateAppAsync(_gateway.CallbackUrl.ToString());
        var (client, connectionId) = await OpenAsync();
        await app.Services.GetRequiredService<ConnectionStore>().AddAsync(connectionId, "client-r", CancellationToken.None);
        var orderId = $"order-{Guid.NewGuid():N}";
        var shipped = new OrderStatusChange(orderId, "client-r", OrderStatus.Shipped, OrderStatus.PendingShipment, 2, DateTimeOffset.UtcNow, "corr-r");

        // A stream record or SQS message delivered twice announces the same version twice, concurrently too.
        await Task.WhenAll(Pusher(app).OnStatusChangedAsync(shipped, CancellationToken.None), Pusher(app).OnStatusChangedAsync(shipped, CancellationToken.None));
        await Pusher(app).OnStatusChangedAsync(shipped, CancellationToken.None);
        await Pusher(app).OnStatusChangedAsync(shipped with { Status = OrderStatus.Delivered, PreviousStatus = OrderStatus.Shipped, Version = 3 }, CancellationToken.None);

        using (var first = JsonDocument.Parse(await ReceiveAsync(client, TimeSpan.FromSeconds(10)) ?? "null"))
        {
            Assert.Equal("SHIPPED", first.RootElement.GetProperty("status").GetString());
        }

        using (var second = JsonDocument.Parse(await ReceiveAsync(client, TimeSpan.FromSeconds(10)) ?? "null"))
        {
            Assert.Equal("DELIVERED", second.RootElement.GetProperty("status").GetString());
        }

        Assert.Null(await ReceiveAsync(client, TimeSpan.FromMilliseconds(500)));
        var claim = await app.Services.GetRequiredService<OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore>()
            .GetAsync(OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore.RecordId(OrderStatusPusher.PushOperation, "client-r", $"{orderId}:2"),
                CancellationToken.None);
        // One write per version: the claim is saved completed, with the frame it pushed.
        Assert.Equal("COMPLETED", claim?.Status);
        Assert.True(OrderProcessing.Functions.Platform.Idempotency.StoredResponse.TryParse(claim!.Data!, out var saved));
        using var frame = JsonDocument.Parse(saved.Body);
        Assert.Equal(("SHIPPED", orderId), (frame.RootElement.GetProperty("status").GetString(), frame.RootElement.GetProperty("orderId").GetString()));
    }

    [Fact]
    public async Task A_change_whose_status_write_claimed_its_announcement_is_pushed_without_a_claim_of_its_own()
    {
        await using var app = await CreateAppAsync(_gateway.CallbackUrl.ToString());
        var (client, connectionId) = await OpenAsync();
        await app.Services.GetRequiredService<ConnectionStore>().AddAsync(connectionId, "client-c", CancellationToken.None);
        var orderId = $"order-{Guid.NewGuid():N}";
        var shipped = new OrderStatusChange(orderId, "client-c", OrderStatus.Shipped, OrderStatus.PendingShipment, 2, DateTimeOffset.UtcNow, "corr-c")
        {
            AnnouncementClaimed = true,
        };

        Assert.True(await Pusher(app).OnStatusChangedAsync(shipped, CancellationToken.None));

        using (var frame = JsonDocument.Parse(await ReceiveAsync(client, TimeSpan.FromSeconds(10)) ?? "null"))
        {
            Assert.Equal(("SHIPPED", orderId), (frame.RootElement.GetProperty("status").GetString(), frame.RootElement.GetProperty("orderId").GetString()));
        }

        Assert.Null(await app.Services.GetRequiredService<OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore>()
            .GetAsync(OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore.RecordId(OrderStatusPusher.PushOperation, "client-c", $"{orderId}:2"),
                CancellationToken.None));
    }

    [Fact]
    public async Task A_push_that_fails_gives_its_claim_back_so_the_announcement_s_retry_pushes()
    {
        // The owner's connections cannot be read: the push fails before any frame is sent.
        var all = new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = _gateway.CallbackUrl.ToString(), ["CONNECTIONS_TABLE"] = "no-such-table" };
        await using var broken = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("notify"), all);
        var orderId = $"order-{Guid.NewGuid():N}";
        var change = new OrderStatusChange(orderId, "client-f", OrderStatus.Shipped, OrderStatus.PendingShipment, 2, DateTimeOffset.UtcNow, "corr-f");

        Assert.False(await Pusher(broken).OnStatusChangedAsync(change, CancellationToken.None));

        var idempotency = broken.Services.GetRequiredService<OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore>();
        var id = OrderProcessing.Functions.Platform.Idempotency.IdempotencyStore.RecordId(OrderStatusPusher.PushOperation, "client-f", $"{orderId}:2");
        Assert.Null(await idempotency.GetAsync(id, CancellationToken.None));
        Assert.NotNull(await idempotency.ClaimCompletedAsync(OrderStatusPusher.PushOperation, "client-f", $"{orderId}:2", "SHIPPED",
            new OrderProcessing.Functions.Platform.Idempotency.StoredResponse(200, "application/json", "{}", null), CancellationToken.None));
        Assert.Null(await idempotency.ClaimCompletedAsync(OrderStatusPusher.PushOperation, "client-f", $"{orderId}:2", "SHIPPED",
            new OrderProcessing.Functions.Platform.Idempotency.StoredResponse(200, "application/json", "{}", null), CancellationToken.None));
    }

    private async Task<AppFixture> CreateAppAsync(string callbackUrl)
    {
        var all = new Dictionary<string, string?> { ["WEBSOCKET_CALLBACK_URL"] = callbackUrl };
        var app = await AppFixture.CreateAsync(cloud, await cloud.ProvisionAsync("notify"), all);
        _ = app.Server;
        return app;
    }

    private static OrderStatusPusher Pusher(AppFixture app) => app.Services.GetRequiredService<OrderStatusPusher>();

    private async Task<(ClientWebSocket Client, string ConnectionId)> OpenAsync()
    {
        var before = _connected.Count;
        var client = new ClientWebSocket();
        await client.ConnectAsync(_gateway.Endpoint, CancellationToken.None);
        return (client, _connected.ElementAt(before));
    }

    private static async Task<string?> ReceiveAsync(ClientWebSocket client, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[16 * 1024];
        try
        {
            var result = await client.ReceiveAsync(buffer, timeout.Token);
            return Encoding.UTF8.GetString(buffer, 0, result.Count);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
