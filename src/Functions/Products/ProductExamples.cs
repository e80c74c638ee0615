namespace OrderProcessing.Functions.Products;

/// <summary>Examples shown in the OpenAPI document.</summary>
internal static class ProductExamples
{
    public const string Product = """
        {"productId":"demo-mechanical-keyboard","name":"Mechanical keyboard","description":"Tenkeyless, brown switches.",
         "price":89.90,"currency":"EUR","stock":25,"createdAt":"2026-11-25T09:00:00+00:00","updatedAt":"2026-11-25T09:00:00+00:00"}
        """;

    public const string Page = """
        {"items":[{"productId":"demo-mechanical-keyboard","name":"Mechanical keyboard","description":"Tenkeyless, brown switches.",
         "price":89.90,"currency":"EUR","stock":25,"createdAt":"2026-11-25T09:00:00+00:00","updatedAt":"2026-11-25T09:00:00+00:00"}],
         "nextCursor":"ZGVtby1tZWNoYW5pY2FsLWtleWJvYXJk"}
        """;

    public const string NewProduct = """
        {"name":"Mechanical keyboard","description":"Tenkeyless, brown switches.","price":89.90,"currency":"EUR","stock":25}
        """;

    public const string AvailabilityRequest = """
        {"items":[{"productId":"demo-mechanical-keyboard","quantity":2},{"productId":"demo-last-lamp","quantity":3}]}
        """;

    public const string AvailabilityResponse = """
        {"available":false,"items":[
          {"productId":"demo-mechanical-keyboard","requested":2,"inStock":25,"available":true},
          {"productId":"demo-last-lamp","requested":3,"inStock":1,"available":false,"reason":"INSUFFICIENT_STOCK"}]}
        """;
}
