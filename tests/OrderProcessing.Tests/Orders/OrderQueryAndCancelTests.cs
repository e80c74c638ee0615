using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Orders;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Orders;

public sealed class OrderQueryAndCancelTests(AppFixture stack) : IClassFixture<AppFixture>
{
    private static async Task<Order> PlaceAsync(HttpClient client, params (string ProductId, int Quantity)[] items)
    {
        using var response = await PostAsync(client, "/orders", OrderBody(items));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await ReadAsync<Order>(response);
    }

    [Fact]
    public async Task Another_clients_order_is_not_found_for_reading_history_or_cancelling()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var owner = await stack.CustomerAsync();
        using var intruder = await stack.CustomerAsync();
        var order = await PlaceAsync(owner, (product, 1));

        using var read = await intruder.GetAsync(new Uri($"/orders/{order.OrderId}", UriKind.Relative));
        using var history = await intruder.GetAsync(new Uri($"/orders/{order.OrderId}/history", UriKind.Relative));
        using var cancel = await PostAsync(intruder, $"/orders/{order.OrderId}/cancel", "");
        using var ownRead = await owner.GetAsync(new Uri($"/orders/{order.OrderId}", UriKind.Relative));

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound], new[] { read.StatusCode, history.StatusCode, cancel.StatusCode });
        using var problem = await BodyAsync(read);
        Assert.Equal("https://orderprocessing.dev/problems/order-not-found", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal(OrderStatus.PendingShipment, (await stack.Data.OrderAsync(order.OrderId))!.Status);
        Assert.Equal(4, await stack.Data.StockAsync(product));
        Assert.Equal(HttpStatusCode.OK, ownRead.StatusCode);
    }

    [Fact]
    public async Task Listing_pages_through_the_callers_orders_newest_first_and_only_theirs()
    {
        var product = await stack.Data.AddProductAsync(stock: 50);
        using var client = await stack.CustomerAsync();
        using var other = await stack.CustomerAsync();
        var placed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            placed.Add((await PlaceAsync(client, (product, 1))).OrderId);
        }

        await PlaceAsync(other, (product, 1));

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            using var response = await client.GetAsync(new Uri("/orders?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync<OrderPage>(response);
            Assert.InRange(page.Items.Count, 1, 2);
            seen.AddRange(page.Items.Select(o => o.OrderId));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(placed), seen);
    }

    [Fact]
    public async Task Listing_filters_by_status_and_refuses_bad_parameters()
    {
        var product = await stack.Data.AddProductAsync(stock: 50);
        using var client = await stack.CustomerAsync();
        var orders = new List<Order>();
        for (var i = 0; i < 5; i++)
        {
            orders.Add(await PlaceAsync(client, (product, 1)));
        }

        foreach (var order in orders.Take(2))
        {
            using var cancelled = await PostAsync(client, $"/orders/{order.OrderId}/cancel", "");
            Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        }

        using var response = await client.GetAsync(new Uri("/orders?status=CANCELLED&limit=1", UriKind.Relative));
        var first = await ReadAsync<OrderPage>(response);
        using var next = await client.GetAsync(new Uri($"/orders?status=CANCELLED&limit=1&cursor={first.NextCursor}", UriKind.Relative));
        var second = await ReadAsync<OrderPage>(next);
        using var bad = await client.GetAsync(new Uri("/orders?status=LOST&limit=500&cursor=%25%25", UriKind.Relative));

        Assert.Equal([orders[1].OrderId, orders[0].OrderId], first.Items.Concat(second.Items).Select(o => o.OrderId));
        Assert.All(first.Items.Concat(second.Items), o => Assert.Equal(OrderStatus.Cancelled, o.Status));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var problem = await BodyAsync(bad);
        Assert.Equal(["cursor", "limit", "status"], problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
    }

    [Fact]
    public async Task Cancelling_releases_the_stock_in_the_same_step_and_cancelling_again_changes_nothing()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        var other = await stack.Data.AddProductAsync(stock: 2);
        using var client = await stack.CustomerAsync();
        var order = await PlaceAsync(client, (product, 3), (other, 2));
        client.DefaultRequestHeaders.Add("X-Correlation-Id", "cancel-1");

        using var cancel = await PostAsync(client, $"/orders/{order.OrderId}/cancel", "");
        using var again = await PostAsync(client, $"/orders/{order.OrderId}/cancel", "");

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var cancelled = await ReadAsync<Order>(cancel);
        Assert.Equal((OrderStatus.Cancelled, 2L), (cancelled.Status, cancelled.Version));
        Assert.Equal((OrderStatus.Cancelled, 2L), ((await ReadAsync<Order>(again)).Status, (await stack.Data.OrderAsync(order.OrderId))!.Version));
        Assert.Equal(5, await stack.Data.StockAsync(product));
        Assert.Equal(2, await stack.Data.StockAsync(other));

        using var history = await client.GetAsync(new Uri($"/orders/{order.OrderId}/history", UriKind.Relative));
        var changes = (await ReadAsync<OrderHistory>(history)).History;
        Assert.Equal([OrderStatus.PendingShipment, OrderStatus.Cancelled], changes.Select(c => c.Status));
        Assert.Equal(("orders-api", "cancel-1", OrderStatus.PendingShipment), (changes[1].Source, changes[1].CorrelationId, changes[1].PreviousStatus!.Value));
        Assert.True(changes[1].At >= changes[0].At);
    }

    [Fact]
    public async Task A_shipped_order_cannot_be_cancelled_and_keeps_its_stock_reserved()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var client = await stack.CustomerAsync();
        var order = await PlaceAsync(client, (product, 2));
        var transitions = stack.Services.GetRequiredService<OrderTransitions>();
        Assert.True((await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "ship-1", default)).Changed);

        using var cancel = await PostAsync(client, $"/orders/{order.OrderId}/cancel", "");

        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        using var problem = await BodyAsync(cancel);
        Assert.Equal("https://orderprocessing.dev/problems/order-not-cancellable", problem.RootElement.GetProperty("type").GetString());
        Assert.Equal("SHIPPED", problem.RootElement.GetProperty("currentStatus").GetString());
        Assert.Equal(OrderStatus.Shipped, (await stack.Data.OrderAsync(order.OrderId))!.Status);
        Assert.Equal(3, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task Status_updates_move_forward_once_and_stale_or_repeated_ones_change_nothing()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var client = await stack.CustomerAsync();
        var order = await PlaceAsync(client, (product, 1));
        var transitions = stack.Services.GetRequiredService<OrderTransitions>();

        var shipped = await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "c-1", default);
        var shippedAgain = await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "c-2", default);
        var delivered = await transitions.ApplyAsync(order.OrderId, OrderStatus.Delivered, "delivery", "c-3", default);
        var late = await transitions.ApplyAsync(order.OrderId, OrderStatus.Shipped, "delivery", "c-4", default);
        var unknown = await transitions.ApplyAsync("no-such-order", OrderStatus.Shipped, "delivery", "c-5", default);

        Assert.Equal(
            [TransitionDecision.Apply, TransitionDecision.AlreadyInStatus, TransitionDecision.Apply, TransitionDecision.Stale],
            new[] { shipped.Decision, shippedAgain.Decision, delivered.Decision, late.Decision });
        Assert.False(unknown.OrderFound);
        var stored = (await stack.Data.OrderAsync(order.OrderId))!;
        Assert.Equal((OrderStatus.Delivered, 3L, "c-3"), (stored.Status, stored.Version, stored.CorrelationId));
        Assert.Equal(["orders-api", "delivery", "delivery"], stored.History.Select(h => h.Source));
    }
}
