using System.Globalization;
using System.Net;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Orders;
using OrderProcessing.Functions.Products;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Orders;

/// <summary>A product's stock kept over several shard items: no oversell, summed stock everywhere, totals kept.</summary>
public sealed class StockShardTests(AppFixture stack) : IClassFixture<AppFixture>
{
    [Fact]
    public async Task Sixty_four_buyers_of_ten_units_over_eight_shards_make_exactly_ten_orders()
    {
        using var admin = await stack.AdminAsync();
        var product = await CreateAsync(admin, stock: 10, shards: 8);
        var customers = new List<HttpClient>();
        for (var i = 0; i < 8; i++)
        {
            customers.Add(await stack.CustomerAsync());
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            using var response = await PostAsync(customers[i % customers.Count], "/orders", OrderBody([(product, 1)]));
            return response.StatusCode;
        }));

        // Exactly the ten units are sold. The rest are refused with 409; on a machine too busy for DynamoDB Local to
        // answer 64 racing transactions in time, some may instead be 503 (the dependency timed out), never a 500 or a 201.
        Assert.Equal(10, answers.Count(a => a == HttpStatusCode.Created));
        Assert.All(answers.Where(a => a != HttpStatusCode.Created),
            a => Assert.True(a is HttpStatusCode.Conflict or HttpStatusCode.ServiceUnavailable, $"answered {(int)a}"));
        Assert.Contains(HttpStatusCode.Conflict, answers);
        Assert.Equal(Enumerable.Repeat(0, 8), await ShardStockAsync(product, 8));
        Assert.Equal(0, (await GetAsync(admin, product)).Stock);
        customers.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task An_order_larger_than_any_shard_spills_over_to_others_and_its_cancellation_returns_each_unit_where_it_came_from()
    {
        using var admin = await stack.AdminAsync();
        var product = await CreateAsync(admin, stock: 8, shards: 8);
        Assert.Equal(Enumerable.Repeat(1, 8), await ShardStockAsync(product, 8));
        using var customer = await stack.CustomerAsync();

        using var placed = await PostAsync(customer, "/orders", OrderBody([(product, 3)]));

        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        var order = await ReadAsync<Order>(placed);
        var stored = await stack.Data.OrderAsync(order.OrderId);
        var taken = stored!.Items.Single().Taken;
        Assert.Equal(3, taken.Sum(t => t.Quantity));
        Assert.Equal(3, taken.Select(t => t.Shard).Distinct().Count());
        var afterOrder = await ShardStockAsync(product, 8);
        Assert.Equal(5, afterOrder.Sum());
        Assert.All(taken, t => Assert.Equal(0, afterOrder[t.Shard]));
        Assert.Equal(5, (await GetAsync(admin, product)).Stock);

        using var cancelled = await PostAsync(customer, $"/orders/{order.OrderId}/cancel", "");

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(Enumerable.Repeat(1, 8), await ShardStockAsync(product, 8));
    }

    [Fact]
    public async Task An_order_for_more_than_the_shards_hold_together_is_refused_with_the_summed_stock()
    {
        using var admin = await stack.AdminAsync();
        var product = await CreateAsync(admin, stock: 2, shards: 8);
        using var customer = await stack.CustomerAsync();

        using var response = await PostAsync(customer, "/orders", OrderBody([(product, 3)]));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/insufficient-stock", problem.RootElement.GetProperty("type").GetString());
        var item = Assert.Single(problem.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(2, item.GetProperty("inStock").GetInt32());
        Assert.Equal(2, (await ShardStockAsync(product, 8)).Sum());
    }

    [Fact]
    public async Task Changing_the_shard_count_keeps_the_total_and_setting_the_stock_spreads_it()
    {
        using var admin = await stack.AdminAsync();
        var product = await CreateAsync(admin, stock: 25, shards: 1);

        using var resharded = await admin.PutAsync($"/admin/products/{product}",
            JsonContent("""{"name":"Flash lamp","price":10.00,"currency":"EUR","stockShards":4}"""));

        Assert.Equal(HttpStatusCode.OK, resharded.StatusCode);
        Assert.Equal("7,6,6,6", string.Join(",", await ShardStockAsync(product, 4)));
        var read = await GetAsync(admin, product);
        Assert.Equal((25, 4), (read.Stock, read.StockShards));

        using var set = await admin.PutAsync($"/admin/products/{product}/stock", JsonContent("""{"stock":10}"""));

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("3,3,2,2", string.Join(",", await ShardStockAsync(product, 4)));

        using var fewer = await admin.PutAsync($"/admin/products/{product}",
            JsonContent("""{"name":"Flash lamp","price":10.00,"currency":"EUR","stockShards":2}"""));

        Assert.Equal(HttpStatusCode.OK, fewer.StatusCode);
        Assert.Equal("5,5", string.Join(",", await ShardStockAsync(product, 2)));
        Assert.Null((await stack.Data.Dynamo.GetItemAsync(new GetItemRequest
        {
            TableName = stack.Data.ProductsTable,
            Key = ProductStore.Key(product, 2),
            ConsistentRead = true,
        })).Item is { Count: > 0 } ? "shard 2 still there" : null);
        Assert.Equal(10, (await GetAsync(admin, product)).Stock);
    }

    [Fact]
    public async Task An_order_after_a_price_change_is_priced_at_the_new_price_although_the_old_one_was_remembered()
    {
        using var admin = await stack.AdminAsync();
        var product = await CreateAsync(admin, stock: 10, shards: 2);
        using var customer = await stack.CustomerAsync();
        using var first = await PostAsync(customer, "/orders", OrderBody([(product, 1)]));
        Assert.Equal(10.00m, (await ReadAsync<Order>(first)).Total);

        using var changed = await admin.PutAsync($"/admin/products/{product}",
            JsonContent("""{"name":"Flash lamp","price":12.50,"currency":"EUR"}"""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        using var second = await PostAsync(customer, "/orders", OrderBody([(product, 2)]));

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        var order = await ReadAsync<Order>(second);
        Assert.Equal((12.50m, 25.00m), (order.Items.Single().UnitPrice, order.Total));
        Assert.Equal(7, (await ShardStockAsync(product, 2)).Sum());
    }

    [Fact]
    public async Task Shard_count_outside_one_to_thirty_two_is_a_validation_problem()
    {
        using var admin = await stack.AdminAsync();

        using var response = await admin.PostAsync("/admin/products",
            JsonContent("""{"name":"Lamp","price":10.00,"currency":"EUR","stock":5,"stockShards":33}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = await BodyAsync(response);
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("stockShards", out _));
    }

    private static async Task<string> CreateAsync(HttpClient admin, int stock, int shards)
    {
        using var response = await admin.PostAsync("/admin/products", JsonContent(string.Create(CultureInfo.InvariantCulture,
            $$"""{"name":"Flash lamp","price":10.00,"currency":"EUR","stock":{{stock}},"stockShards":{{shards}}}""")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var product = await ReadAsync<Product>(response);
        Assert.Equal((stock, shards), (product.Stock, product.StockShards));
        return product.ProductId;
    }

    private static async Task<Product> GetAsync(HttpClient caller, string productId)
    {
        using var response = await caller.GetAsync($"/products/{productId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync<Product>(response);
    }

    private async Task<int[]> ShardStockAsync(string productId, int shards)
    {
        var stock = new int[shards];
        for (var k = 0; k < shards; k++)
        {
            var item = (await stack.Data.Dynamo.GetItemAsync(new GetItemRequest
            {
                TableName = stack.Data.ProductsTable,
                Key = ProductStore.Key(productId, k),
                ConsistentRead = true,
            })).Item;
            stock[k] = int.Parse(item["stock"].N, CultureInfo.InvariantCulture);
        }

        return stock;
    }
}
