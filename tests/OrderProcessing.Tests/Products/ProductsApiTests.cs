using System.Net;
using System.Net.Http.Json;
using OrderProcessing.Functions.Products;
using static OrderProcessing.Tests.Infrastructure.TestData;

namespace OrderProcessing.Tests.Products;

public sealed class ProductsApiTests(AppFixture stack) : IClassFixture<AppFixture>
{
    private static string Check(params (string ProductId, int Quantity)[] items) =>
        System.Text.Json.JsonSerializer.Serialize(new { items = items.Select(i => new { productId = i.ProductId, quantity = i.Quantity }) });

    private async Task<AvailabilityResponse> CheckAsync(params (string ProductId, int Quantity)[] items)
    {
        using var client = await stack.CustomerAsync();
        using var response = await PostAsync(client, "/check-availability", Check(items));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync<AvailabilityResponse>(response);
    }

    [Fact]
    public async Task Items_in_stock_are_available_and_nothing_is_reserved()
    {
        var product = await stack.Data.AddProductAsync(stock: 3);

        var result = await CheckAsync((product, 3));

        Assert.True(result.Available);
        Assert.Equal(new ItemAvailability(product, 3, 3, true, null), Assert.Single(result.Items));
        Assert.Equal(3, await stack.Data.StockAsync(product));
    }

    [Fact]
    public async Task An_item_short_of_stock_is_unavailable_with_the_stock_on_hand()
    {
        var product = await stack.Data.AddProductAsync(stock: 1);

        var result = await CheckAsync((product, 2));

        Assert.False(result.Available);
        Assert.Equal(new ItemAvailability(product, 2, 1, false, "INSUFFICIENT_STOCK"), Assert.Single(result.Items));
    }

    [Fact]
    public async Task An_unknown_product_is_unavailable_as_unknown()
    {
        var result = await CheckAsync(("never-heard-of-it", 1));

        Assert.False(result.Available);
        Assert.Equal(new ItemAvailability("never-heard-of-it", 1, 0, false, "UNKNOWN_PRODUCT"), Assert.Single(result.Items));
    }

    [Fact]
    public async Task A_mixed_request_reports_each_item_and_is_unavailable_as_a_whole()
    {
        var inStock = await stack.Data.AddProductAsync(stock: 10);
        var short1 = await stack.Data.AddProductAsync(stock: 0);

        var result = await CheckAsync((inStock, 5), (short1, 1), ("missing", 2));

        Assert.False(result.Available);
        Assert.Equal([true, false, false], result.Items.Select(i => i.Available));
        Assert.Equal([null, "INSUFFICIENT_STOCK", "UNKNOWN_PRODUCT"], result.Items.Select(i => i.Reason));
        using var client = await stack.CustomerAsync();
        using var raw = await PostAsync(client, "/check-availability", Check((inStock, 1)));
        Assert.DoesNotContain("reason", await raw.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_creates_updates_and_restocks_a_product_that_customers_then_read()
    {
        using var admin = await stack.AdminAsync();
        using var customer = await stack.CustomerAsync();

        using var created = await admin.PostAsync(new Uri("/admin/products", UriKind.Relative),
            JsonContent("""{"name":"Teapot","description":"1 l","price":19.90,"currency":"EUR","stock":4}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var product = await ReadAsync<Product>(created);
        Assert.Equal($"/products/{product.ProductId}", created.Headers.Location?.ToString());

        using var updated = await admin.PutAsync(new Uri($"/admin/products/{product.ProductId}", UriKind.Relative),
            JsonContent("""{"name":"Teapot XL","price":24.50,"currency":"EUR"}"""));
        using var restocked = await admin.PutAsync(new Uri($"/admin/products/{product.ProductId}/stock", UriKind.Relative), JsonContent("""{"stock":12}"""));
        var read = await customer.GetFromJsonAsync<Product>(new Uri($"/products/{product.ProductId}", UriKind.Relative), Json);

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(HttpStatusCode.OK, restocked.StatusCode);
        Assert.Equal(("Teapot XL", null, 24.50m, "EUR", 12), (read!.Name, read.Description, read.Price, read.Currency, read.Stock));
        Assert.Equal(12, await stack.Data.StockAsync(product.ProductId));
    }

    [Fact]
    public async Task Catalogue_administration_needs_the_admin_scope_and_valid_input()
    {
        var product = await stack.Data.AddProductAsync(stock: 4);
        using var customer = await stack.CustomerAsync();
        using var admin = await stack.AdminAsync();

        using var forbidden = await customer.PutAsync(new Uri($"/admin/products/{product}/stock", UriKind.Relative), JsonContent("""{"stock":99}"""));
        using var invalid = await admin.PostAsync(new Uri("/admin/products", UriKind.Relative),
            JsonContent("""{"name":"","price":-1,"currency":"euro","stock":-5,"colour":"red"}"""));
        using var missing = await admin.PutAsync(new Uri("/admin/products/nope/stock", UriKind.Relative), JsonContent("""{"stock":1}"""));

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(4, await stack.Data.StockAsync(product));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var problem = await BodyAsync(invalid);
        Assert.Equal(["colour", "currency", "name", "price", "stock"], problem.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_catalogue_is_listed_page_by_page_without_repeats()
    {
        for (var i = 0; i < 5; i++)
        {
            await stack.Data.AddProductAsync(stock: i);
        }

        // A catalogue that fills its last page exactly: no cursor may then lead to an empty page.
        var count = (await stack.Data.Dynamo.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = stack.Data.ProductsTable, Select = Amazon.DynamoDBv2.Select.COUNT })).Count;
        if (count % 2 == 1)
        {
            await stack.Data.AddProductAsync(stock: 9);
        }

        using var client = await stack.CustomerAsync();
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<ProductPage>(new Uri("/products?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), UriKind.Relative), Json);
            Assert.InRange(page!.Items.Count, 1, 2);
            seen.AddRange(page.Items.Select(p => p.ProductId));
            cursor = page.NextCursor;
        }
        while (cursor is not null && seen.Count < 1000);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        var scan = await stack.Data.Dynamo.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = stack.Data.ProductsTable });
        Assert.Equal(scan.Items.Select(i => i["productId"].S).Order(), seen.Order());
    }

    [Fact]
    public async Task An_unknown_product_is_404_problem_details()
    {
        using var client = await stack.CustomerAsync();

        using var response = await client.GetAsync(new Uri("/products/does-not-exist", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var problem = await BodyAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/product-not-found", problem.RootElement.GetProperty("type").GetString());
        Assert.True(problem.RootElement.TryGetProperty("correlationId", out _));
    }
}
