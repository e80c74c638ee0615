using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Functions.Products;

/// <summary>
/// A catalogue entry with its price and the stock on hand (summed over its <c>stockShards</c>: a product that sells
/// fast keeps its stock on several items, so that orders do not queue on one).
/// </summary>
public sealed record Product(
    string ProductId,
    string Name,
    string? Description,
    decimal Price,
    string Currency,
    int Stock,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int StockShards = 1)
{
    /// <summary>Raised whenever what an order is priced from changes; orders are written only at the revision they were priced at.</summary>
    [JsonIgnore]
    public long Revision { get; init; }

    /// <summary>The stock of each shard, as read (empty when not read).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> ShardStock { get; init; } = [];
}

/// <summary>One page of the catalogue; pass <c>nextCursor</c> as <c>?cursor=</c> for the next.</summary>
public sealed record ProductPage(IReadOnlyList<Product> Items, string? NextCursor);

/// <summary>Body of POST /admin/products.</summary>
public sealed record NewProductRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public decimal? Price { get; init; }

    public string? Currency { get; init; }

    public int? Stock { get; init; }

    /// <summary>Over how many items the stock is kept, 1 (the default) to 32.</summary>
    public int? StockShards { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Body of PUT /admin/products/{id}: everything but the stock, which has its own endpoint.</summary>
public sealed record UpdateProductRequest
{
    public string? Name { get; init; }

    public string? Description { get; init; }

    public decimal? Price { get; init; }

    public string? Currency { get; init; }

    /// <summary>Over how many items the stock is kept, 1 to 32; changing it keeps the total. Unchanged when left out.</summary>
    public int? StockShards { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Body of PUT /admin/products/{id}/stock: the stock on hand, as counted.</summary>
public sealed record SetStockRequest
{
    public int? Stock { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Rules of a product's fields, shared by create and update.</summary>
internal static class ProductRules
{
    public const int MaxStock = 1_000_000_000;
    public const decimal MaxPrice = 1_000_000m;

    public static void ValidateDetails(RequestValidation validation, string? name, string? description, decimal? price, string? currency)
    {
        validation.Required("name", name, 200);
        validation.Bounded("description", description, 2000);
        if (price is null)
        {
            validation.Add("price", "Required.");
        }
        else if (price <= 0 || price > MaxPrice)
        {
            validation.Add("price", $"Must be more than 0 and at most {MaxPrice}.");
        }
        else if (decimal.Round(price.Value, 2) != price.Value)
        {
            validation.Add("price", "At most 2 decimal places.");
        }

        if (currency is null)
        {
            validation.Add("currency", "Required.");
        }
        else if (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper))
        {
            validation.Add("currency", "An ISO 4217 code such as EUR or USD.");
        }
    }

    public static void ValidateShards(RequestValidation validation, int? stockShards)
    {
        if (stockShards is < 1 or > ProductStore.MaxShards)
        {
            validation.Add("stockShards", $"Must be 1 to {ProductStore.MaxShards}.");
        }
    }

    public static void ValidateStock(RequestValidation validation, int? stock)
    {
        if (stock is null)
        {
            validation.Add("stock", "Required.");
        }
        else if (stock < 0 || stock > MaxStock)
        {
            validation.Add("stock", $"Must be 0 to {MaxStock}.");
        }
    }
}
