using System.Net;
using System.Text.Json;

namespace OrderProcessing.Tests.Platform;

/// <summary>
/// A request the app cannot read says what is wrong and where, in the same validation-problem shape as a field rule;
/// every problem carries traceId and correlationId under one content type; GET and POST write JSON alike.
/// </summary>
public sealed class BadRequestTests(AppFixture stack) : IClassFixture<AppFixture>
{
    private static readonly string Address = System.Text.Json.JsonSerializer.Serialize(TestData.Address, TestData.Json);

    public static TheoryData<string, string, string> UnreadableOrders => new()
    {
        // body, the error's key, a part of its message
        { """{"items": [{"productId": "p", "quantity": 1},""", "items[1]", "Malformed JSON at line 1, position" },
        { "{\n  \"items\": [\n    {\"productId\": \"p\" \"quantity\": 1}\n  ]\n}", "items[0]", "Malformed JSON at line 3, position " },
        { "", "$", "A JSON body is required." },
        { "[]", "$", "Expected an object at line 1" },
        { """{"items": [{"productId": "p", "quantity": 1.5}], "shippingAddress": ADDRESS}""", "items[0].quantity", "Expected a whole number from -2147483648 to 2147483647 at line 1" },
        { """{"items": [{"productId": "p", "quantity": 3000000000}], "shippingAddress": ADDRESS}""", "items[0].quantity", "Expected a whole number" },
        { """{"items": [{"productId": "p", "quantity": "2"}], "shippingAddress": ADDRESS}""", "items[0].quantity", "Expected a whole number" },
        { """{"items": [{"productId": 42, "quantity": 1}], "shippingAddress": ADDRESS}""", "items[0].productId", "Expected a string at line 1" },
    };

    [Theory]
    [MemberData(nameof(UnreadableOrders))]
    public async Task An_unreadable_order_body_is_a_validation_problem_naming_the_path_and_nothing_is_written(string body, string path, string message)
    {
        var productId = await stack.Data.AddProductAsync(stock: 5);
        using var customer = await stack.CustomerAsync();

        using var response = await TestData.PostAsync(customer, "/orders", body.Replace("\"p\"", $"\"{productId}\"").Replace("ADDRESS", Address));

        var errors = await AssertValidationProblemAsync(response);
        Assert.True(errors.TryGetProperty(path, out var messages), $"no error at {path}: {errors}");
        Assert.Contains(message, messages[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(5, await stack.Data.StockAsync(productId));
    }

    [Theory]
    [InlineData("/products?limit=abc", "limit", "Expected a whole number from -2147483648 to 2147483647, got \"abc\".")]
    [InlineData("/orders?limit=1x", "limit", "Expected a whole number from -2147483648 to 2147483647, got \"1x\".")]
    [InlineData("/products?cursor=ZGVtbw", "cursor", "Not a cursor this API returned")]
    [InlineData("/orders?cursor=ZGVtbw", "cursor", "Not a cursor this API returned")]
    public async Task A_query_parameter_that_cannot_be_read_is_a_validation_problem_naming_it(string url, string parameter, string message)
    {
        using var customer = await stack.CustomerAsync();

        using var response = await customer.GetAsync(new Uri(url, UriKind.Relative));

        var errors = await AssertValidationProblemAsync(response);
        Assert.Contains(message, errors.GetProperty(parameter)[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cursor_the_api_returned_still_opens_the_next_page()
    {
        using var admin = await stack.AdminAsync();
        await stack.Data.AddProductAsync(stock: 1);
        await stack.Data.AddProductAsync(stock: 1);

        using var first = await admin.GetAsync(new Uri("/products?limit=1", UriKind.Relative));
        using var firstBody = await TestData.BodyAsync(first);
        var cursor = firstBody.RootElement.GetProperty("nextCursor").GetString();
        using var second = await admin.GetAsync(new Uri($"/products?limit=1&cursor={cursor}", UriKind.Relative));
        using var secondBody = await TestData.BodyAsync(second);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.NotEqual(firstBody.RootElement.GetProperty("items")[0].GetProperty("productId").GetString(),
            secondBody.RootElement.GetProperty("items")[0].GetProperty("productId").GetString());
    }

    [Theory]
    [InlineData("XX")]
    [InlineData("UK")]
    [InlineData("gb")]
    public async Task A_country_that_is_not_an_assigned_ISO_3166_code_is_refused(string country)
    {
        var productId = await stack.Data.AddProductAsync(stock: 5);
        using var customer = await stack.CustomerAsync();
        var body = TestData.OrderBody([(productId, 1)]).Replace("\"country\":\"GB\"", $"\"country\":\"{country}\"", StringComparison.Ordinal);

        using var response = await TestData.PostAsync(customer, "/orders", body);

        var errors = await AssertValidationProblemAsync(response);
        Assert.True(errors.TryGetProperty("shippingAddress.country", out _));
        Assert.Equal(5, await stack.Data.StockAsync(productId));
    }

    [Fact]
    public async Task The_409_for_missing_stock_and_the_404_of_a_cancel_carry_trace_and_correlation_ids_with_one_content_type()
    {
        var soldOut = await stack.Data.AddProductAsync(stock: 0);
        using var customer = await stack.CustomerAsync();

        using var conflict = await TestData.PostAsync(customer, "/orders", TestData.OrderBody([(soldOut, 1)]), Guid.NewGuid().ToString());
        using var notFound = await TestData.PostAsync(customer, "/orders/no-such-order/cancel", "", Guid.NewGuid().ToString());

        foreach (var (response, status) in new[] { (conflict, HttpStatusCode.Conflict), (notFound, HttpStatusCode.NotFound) })
        {
            Assert.Equal(status, response.StatusCode);
            await AssertProblemAsync(response);
        }
    }

    [Fact]
    public async Task Get_and_post_write_json_alike_with_apostrophes_and_letters_as_they_are_and_two_decimal_amounts()
    {
        using var admin = await stack.AdminAsync();
        using var customer = await stack.CustomerAsync();
        const string name = "Café crème mug, St James's";

        using var created = await TestData.PostAsync(admin, "/admin/products",
            $$"""{"name": "{{name}}", "description": "Zürich <edition> & more", "price": 89.9, "currency": "EUR", "stock": 5}""");
        var createdText = await created.Content.ReadAsStringAsync();
        var productId = JsonDocument.Parse(createdText).RootElement.GetProperty("productId").GetString()!;
        using var read = await admin.GetAsync(new Uri($"/products/{productId}", UriKind.Relative));
        var readText = await read.Content.ReadAsStringAsync();
        using var placed = await TestData.PostAsync(customer, "/orders", TestData.OrderBody([(productId, 1)]), Guid.NewGuid().ToString());
        var placedText = await placed.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        foreach (var text in new[] { createdText, readText })
        {
            Assert.Contains($"\"name\":\"{name}\"", text, StringComparison.Ordinal);
            Assert.Contains("\"price\":89.90", text, StringComparison.Ordinal);
        }

        Assert.Contains($"\"name\":\"{name}\"", placedText, StringComparison.Ordinal);
        Assert.Contains("\"unitPrice\":89.90", placedText, StringComparison.Ordinal);
        Assert.Contains("\"total\":89.90", placedText, StringComparison.Ordinal);
        Assert.Contains("St James's Square", placedText, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> AssertValidationProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await AssertProblemAsync(response);
        Assert.Equal("https://orderprocessing.dev/problems/validation", body.GetProperty("type").GetString());
        return body.GetProperty("errors");
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.ToString());
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(string.IsNullOrEmpty(body.GetProperty("traceId").GetString()), body.ToString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("correlationId").GetString()), body.ToString());
        return body;
    }
}
