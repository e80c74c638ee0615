using System.Net;
using System.Text.Json;
using OrderProcessing.Tests.Orders;

namespace OrderProcessing.Tests.Platform;

public sealed class OpenApiDocumentTests(OrderingStack stack) : IClassFixture<OrderingStack>
{
    [Fact]
    public async Task The_OpenAPI_document_describes_every_endpoint_with_its_responses_and_examples()
    {
        using var client = stack.App.CreateClient();

        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = document.RootElement.GetProperty("paths");
        var expected = new (string Path, string Method, string[] Statuses)[]
        {
            ("/products", "get", ["200", "400"]),
            ("/products/{id}", "get", ["200", "404"]),
            ("/check-availability", "post", ["200", "400"]),
            ("/admin/products", "post", ["201", "400"]),
            ("/admin/products/{id}", "put", ["200", "400", "404"]),
            ("/admin/products/{id}/stock", "put", ["200", "400", "404"]),
            ("/orders", "post", ["201", "400", "409", "422"]),
            ("/orders", "get", ["200", "400"]),
            ("/orders/{id}", "get", ["200", "404"]),
            ("/orders/{id}/history", "get", ["200", "404"]),
            ("/orders/{id}/cancel", "post", ["200", "404", "409", "422"]),
        };
        foreach (var (path, method, statuses) in expected)
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            var responses = operation.GetProperty("responses");
            Assert.All(statuses, s => Assert.True(responses.TryGetProperty(s, out _), $"{method} {path} documents no {s}"));
            var success = responses.GetProperty(statuses[0]).GetProperty("content").EnumerateObject().First().Value;
            Assert.True(success.TryGetProperty("example", out _), $"{method} {path} has no example for {statuses[0]}");
        }

        Assert.False(paths.TryGetProperty("/events", out _));
    }
}
