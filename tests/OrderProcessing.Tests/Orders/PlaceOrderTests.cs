using System.Net;
using OrderProcessing.Functions.Orders;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Orders;

public sealed class PlaceOrderTests(AppFixture stack) : IClassFixture<AppFixture>
{
    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Order_writes_the_order_with_catalogue_prices_and_reserves_its_stock()
    {
        var keyboard = await stack.Data.AddProductAsync(stock: 5, price: 12.50m);
        var cable = await stack.Data.AddProductAsync(stock: 3, price: 2.00m);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        client.DefaultRequestHeaders.Add("X-Correlation-Id", "checkout-42");

        using var response = await PostAsync(client, "/orders", OrderBody([(keyboard, 2), (cable, 3)], "PO-7"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var order = await ReadAsync<Order>(response);
        Assert.Equal($"/orders/{order.OrderId}", response.Headers.Location?.ToString());
        Assert.Equal(OrderStatus.PendingShipment, order.Status);
        Assert.Equal(31.00m, order.Total);
        Assert.Equal("PO-7", order.CustomerReference);
        Assert.Equal(7, Guid.Parse(order.OrderId).Version);

        var stored = await stack.Data.OrderAsync(order.OrderId);
        Assert.NotNull(stored);
        Assert.Equal(clientId, stored.Owner);
        Assert.Equal(1, stored.Version);
        Assert.Equal("checkout-42", stored.CorrelationId);
        Assert.Equal([12.50m, 2.00m], stored.Items.Select(i => i.UnitPrice));
        var created = Assert.Single(stored.History);
        Assert.Equal((OrderStatus.PendingShipment, "checkout-42"), (created.Status, created.CorrelationId));
        Assert.Equal(3, await stack.Data.StockAsync(keyboard));
        Assert.Equal(0, await stack.Data.StockAsync(cable));
    }

    [Fact]
    [Trait(MotoSet.Trait, MotoSet.Name)]
    public async Task Order_for_out_of_stock_item_is_rejected_and_nothing_is_written()
    {
        var plenty = await stack.Data.AddProductAsync(stock: 5);
        var scarce = await stack.Data.AddProductAsync(stock: 1);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);

        using var response = await PostAsync(client, "/orders", OrderBody([(plenty, 2), (scarce, 2)]));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/insufficient-stock", problem.RootElement.GetProperty("type").GetString());
        var items = problem.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.True(items[0].GetProperty("available").GetBoolean());
        Assert.Equal(1, items[1].GetProperty("inStock").GetInt32());
        Assert.Equal("INSUFFICIENT_STOCK", items[1].GetProperty("reason").GetString());
        Assert.Equal(5, await stack.Data.StockAsync(plenty));
        Assert.Equal(1, await stack.Data.StockAsync(scarce));
        Assert.Empty(await stack.Data.OrdersOfAsync(clientId));
    }

    [Fact]
    public async Task Order_for_an_unknown_product_is_rejected_naming_it()
    {
        var known = await stack.Data.AddProductAsync(stock: 5);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);

        using var response = await PostAsync(client, "/orders", OrderBody([(known, 1), ("no-such-product", 1)]));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var problem = await BodyAsync(response);
        Assert.Equal("UNKNOWN_PRODUCT", problem.RootElement.GetProperty("items")[1].GetProperty("reason").GetString());
        Assert.Equal(5, await stack.Data.StockAsync(known));
        Assert.Empty(await stack.Data.OrdersOfAsync(clientId));
    }

    [Fact]
    public async Task Invalid_order_is_a_validation_problem_listing_every_problem()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        var clientId = $"client-{Guid.NewGuid():N}";
        using var client = await stack.CustomerAsync(clientId);
        var body = $$"""
            {"items":[{"productId":"{{product}}","quantity":0},{"productId":"{{product}}","quantity":1001,"gift":true}],
             "shippingAddress":{"name":"Ada","line1":"{{new string('x', 201)}}","postalCode":"1","country":"gb","floor":3},
             "coupon":"FREE"}
            """;

        using var response = await PostAsync(client, "/orders", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/validation", problem.RootElement.GetProperty("type").GetString());
        var errors = problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "coupon", "items[0].quantity", "items[1].quantity", "items[1].productId", "items[1].gift",
            "shippingAddress.line1", "shippingAddress.city", "shippingAddress.country", "shippingAddress.floor",
        }, errors);
        Assert.Equal(5, await stack.Data.StockAsync(product));
        Assert.Empty(await stack.Data.OrdersOfAsync(clientId));
    }

    [Fact]
    public async Task Order_needs_between_one_and_fifty_lines_and_a_shipping_address()
    {
        using var client = await stack.CustomerAsync();
        using var empty = await PostAsync(client, "/orders", """{"items":[]}""");
        using var tooMany = await PostAsync(client, "/orders", OrderBody(Enumerable.Range(0, 51).Select(i => ($"p{i}", 1))));

        using var emptyProblem = await BodyAsync(empty);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.True(emptyProblem.RootElement.GetProperty("errors").TryGetProperty("items", out _));
        Assert.True(emptyProblem.RootElement.GetProperty("errors").TryGetProperty("shippingAddress", out _));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
    }

    [Fact]
    public async Task Placing_an_order_needs_the_orders_write_scope()
    {
        var product = await stack.Data.AddProductAsync(stock: 5);
        using var reader = await stack.CallerAsync($"client-{Guid.NewGuid():N}", "orders:read", "products:read");

        using var response = await PostAsync(reader, "/orders", OrderBody([(product, 1)]));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(5, await stack.Data.StockAsync(product));
    }
}
