using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Products;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Product))]
[JsonSerializable(typeof(ProductPage))]
[JsonSerializable(typeof(NewProductRequest))]
[JsonSerializable(typeof(UpdateProductRequest))]
[JsonSerializable(typeof(SetStockRequest))]
[JsonSerializable(typeof(AvailabilityRequest))]
[JsonSerializable(typeof(AvailabilityResponse))]
internal sealed partial class ProductsJson : JsonSerializerContext;
