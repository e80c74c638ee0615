namespace OrderProcessing.Functions.Orders;

/// <summary>Examples shown in the OpenAPI document.</summary>
internal static class OrderExamples
{
    public const string CreateRequest = """
        {"items":[{"productId":"demo-mechanical-keyboard","quantity":1},{"productId":"demo-usb-c-cable","quantity":2}],
         "shippingAddress":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"},
         "customerReference":"PO-1842"}
        """;

    public const string Order = """
        {"orderId":"019ab8e2-7c1e-7d3a-9f4e-2b6f0c1d5e77","status":"PENDING_SHIPMENT",
         "items":[{"productId":"demo-mechanical-keyboard","name":"Mechanical keyboard","quantity":1,"unitPrice":89.90,"lineTotal":89.90},
                  {"productId":"demo-usb-c-cable","name":"USB-C cable (2 m)","quantity":2,"unitPrice":9.90,"lineTotal":19.80}],
         "currency":"EUR","total":109.70,
         "shippingAddress":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"},
         "customerReference":"PO-1842","createdAt":"2026-11-25T09:30:00+00:00","updatedAt":"2026-11-25T09:30:00+00:00","version":1}
        """;

    public const string CancelledOrder = """
        {"orderId":"019ab8e2-7c1e-7d3a-9f4e-2b6f0c1d5e77","status":"CANCELLED",
         "items":[{"productId":"demo-mechanical-keyboard","name":"Mechanical keyboard","quantity":1,"unitPrice":89.90,"lineTotal":89.90}],
         "currency":"EUR","total":89.90,
         "shippingAddress":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"},
         "createdAt":"2026-11-25T09:30:00+00:00","updatedAt":"2026-11-25T09:41:00+00:00","version":2}
        """;

    public const string Page = """
        {"items":[{"orderId":"019ab8e2-7c1e-7d3a-9f4e-2b6f0c1d5e77","status":"PENDING_SHIPMENT",
         "items":[{"productId":"demo-mechanical-keyboard","name":"Mechanical keyboard","quantity":1,"unitPrice":89.90,"lineTotal":89.90}],
         "currency":"EUR","total":89.90,
         "shippingAddress":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"},
         "createdAt":"2026-11-25T09:30:00+00:00","updatedAt":"2026-11-25T09:30:00+00:00","version":1}],
         "nextCursor":"MDE5YWI4ZTItN2MxZS03ZDNhLTlmNGUtMmI2ZjBjMWQ1ZTc3"}
        """;

    public const string History = """
        {"orderId":"019ab8e2-7c1e-7d3a-9f4e-2b6f0c1d5e77","status":"CANCELLED","history":[
          {"status":"PENDING_SHIPMENT","at":"2026-11-25T09:30:00+00:00","source":"orders-api","correlationId":"0f8e2c1a-checkout-7"},
          {"status":"CANCELLED","previousStatus":"PENDING_SHIPMENT","at":"2026-11-25T09:41:00+00:00","source":"orders-api","correlationId":"0f8e2c1a-cancel-2"}]}
        """;

    public const string InsufficientStock = """
        {"type":"https://orderprocessing.dev/problems/insufficient-stock","title":"Some items are not available.","status":409,
         "detail":"Nothing was ordered and no stock was reserved. See items for what is short.","instance":"/orders",
         "items":[{"productId":"demo-mechanical-keyboard","requested":1,"inStock":25,"available":true},
                  {"productId":"demo-sold-out-mug","requested":1,"inStock":0,"available":false,"reason":"INSUFFICIENT_STOCK"}],
         "correlationId":"0f8e2c1a-checkout-7"}
        """;

    public const string NotCancellable = """
        {"type":"https://orderprocessing.dev/problems/order-not-cancellable","title":"The order can no longer be cancelled.","status":409,
         "detail":"Only an order that is PENDING_SHIPMENT can be cancelled; this one is SHIPPED.",
         "instance":"/orders/019ab8e2-7c1e-7d3a-9f4e-2b6f0c1d5e77/cancel","currentStatus":"SHIPPED","correlationId":"0f8e2c1a-cancel-2"}
        """;
}
