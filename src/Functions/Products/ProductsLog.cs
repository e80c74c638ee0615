namespace OrderProcessing.Functions.Products;

/// <summary>The log lines of the products capability, with structured fields.</summary>
internal static partial class ProductsLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Product {ProductId} created with stock {Stock}")]
    public static partial void ProductCreated(this ILogger logger, string productId, int stock);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stock of product {ProductId} set to {Stock}")]
    public static partial void StockSet(this ILogger logger, string productId, int stock);
}
