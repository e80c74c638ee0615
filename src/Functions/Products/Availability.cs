using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Products;

/// <summary>A product and how many of it are wanted; the line of an availability check and of an order.</summary>
public sealed record RequestedItem
{
    [JsonConstructor]
    public RequestedItem()
    {
    }

    public RequestedItem(string? productId, int quantity)
    {
        ProductId = productId;
        Quantity = quantity;
    }

    public string? ProductId { get; init; }

    public int Quantity { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Body of POST /check-availability.</summary>
public sealed record AvailabilityRequest
{
    public IReadOnlyList<RequestedItem>? Items { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Whether every requested item can be had now. Nothing is reserved.</summary>
public sealed record AvailabilityResponse(bool Available, IReadOnlyList<ItemAvailability> Items);

/// <summary>One requested item against the stock on hand; <c>reason</c> says why it is not available.</summary>
public sealed record ItemAvailability(
    string ProductId,
    int Requested,
    int InStock,
    bool Available,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

/// <summary>Why an item cannot be had.</summary>
public static class UnavailableReason
{
    public const string UnknownProduct = "UNKNOWN_PRODUCT";
    public const string InsufficientStock = "INSUFFICIENT_STOCK";
}

/// <summary>The rules of requested items, shared by the availability check and order creation.</summary>
public static class Availability
{
    public const int MaxLines = 50;
    public const int MaxQuantity = 1000;
    public const int MaxProductIdLength = 64;

    /// <summary>1..50 lines, a product id on each, quantity 1..1000, each product once.</summary>
    public static void Validate(RequestValidation validation, IReadOnlyList<RequestedItem>? items, string path = "items")
    {
        if (items is null || items.Count == 0)
        {
            validation.Add(path, "At least one item is required.");
            return;
        }

        if (items.Count > MaxLines)
        {
            validation.Add(path, $"At most {MaxLines} items.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var at = $"{path}[{i}]";
            if (item is null)
            {
                validation.Add(at, "Required.");
                continue;
            }

            validation.RejectUnknown(at, item.Unknown);
            validation.Required($"{at}.productId", item.ProductId, MaxProductIdLength);
            if (item.Quantity is < 1 or > MaxQuantity)
            {
                validation.Add($"{at}.quantity", $"Must be 1 to {MaxQuantity}.");
            }

            if (item.ProductId is not null && !seen.Add(item.ProductId))
            {
                validation.Add($"{at}.productId", $"Product {item.ProductId} appears more than once; put the total quantity on one line.");
            }
        }
    }

    /// <summary>Each requested item against the catalogue entries found for it.</summary>
    public static AvailabilityResponse Evaluate(IReadOnlyList<RequestedItem> items, IReadOnlyDictionary<string, Product> catalogue)
    {
        var result = items.Select(item =>
        {
            var productId = item.ProductId!;
            if (!catalogue.TryGetValue(productId, out var product))
            {
                return new ItemAvailability(productId, item.Quantity, 0, false, UnavailableReason.UnknownProduct);
            }

            var enough = product.Stock >= item.Quantity;
            return new ItemAvailability(productId, item.Quantity, product.Stock, enough, enough ? null : UnavailableReason.InsufficientStock);
        }).ToList();
        return new AvailabilityResponse(result.All(i => i.Available), result);
    }
}
