using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Local.Seeding;

/// <summary>
/// The demo catalogue the local host puts in the Products table. Seeding is idempotent: a product that is
/// already there is left as it is (stock sold or set by hand survives a restart against the same emulator).
/// The app itself never seeds: in AWS the catalogue comes from the admin endpoints.
/// </summary>
public static class DemoCatalogue
{
    /// <summary>A product with exactly one unit: the last-unit race is easy to try.</summary>
    public const string LastUnitProductId = "demo-last-lamp";

    /// <summary>A product with no stock: orders for it are refused with 409.</summary>
    public const string SoldOutProductId = "demo-sold-out-mug";

    public static IReadOnlyList<(string Id, string Name, string Description, decimal Price, int Stock)> Products { get; } =
    [
        ("demo-mechanical-keyboard", "Mechanical keyboard", "Tenkeyless, brown switches.", 89.90m, 25),
        ("demo-usb-c-cable", "USB-C cable (2 m)", "100 W, braided.", 9.90m, 500),
        ("demo-wireless-mouse", "Wireless mouse", "Six buttons, rechargeable.", 34.50m, 80),
        ("demo-27-monitor", "27\" monitor", "2560×1440, IPS, 75 Hz.", 249.00m, 12),
        ("demo-laptop-stand", "Laptop stand", "Aluminium, adjustable height.", 39.00m, 40),
        ("demo-webcam", "Webcam", "1080p with privacy shutter.", 59.90m, 30),
        ("demo-headset", "Headset", "Closed-back, detachable microphone.", 79.00m, 18),
        ("demo-desk-mat", "Desk mat", "90 × 40 cm, felt.", 24.90m, 60),
        ("demo-usb-hub", "USB hub", "7 ports, powered.", 29.90m, 45),
        ("demo-notebook", "Dotted notebook", "A5, 160 pages.", 12.50m, 200),
        (LastUnitProductId, "Desk lamp (last one)", "Warm white LED; only one left.", 44.00m, 1),
        (SoldOutProductId, "Enamel mug", "Sold out: orders for it are refused.", 14.00m, 0),
    ];

    public const string Currency = "EUR";

    /// <summary>Puts each demo product that is not there yet; returns how many were added.</summary>
    public static async Task<int> SeedAsync(IAmazonDynamoDB dynamo, string productsTable, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var added = 0;
        foreach (var (id, name, description, price, stock) in Products)
        {
            try
            {
                await dynamo.PutItemAsync(new PutItemRequest
                {
                    TableName = productsTable,
                    Item = ProductStore.ToItem(new Product(id, name, description, price, Currency, stock, now, now)),
                    ConditionExpression = "attribute_not_exists(productId)",
                }, cancellationToken);
                added++;
            }
            catch (ConditionalCheckFailedException)
            {
                // Already seeded.
            }
        }

        return added;
    }
}
