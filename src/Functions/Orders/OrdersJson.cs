using System.Text.Json;
using System.Text.Json.Serialization;
using OrderProcessing.Functions.Products;

namespace OrderProcessing.Functions.Orders;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(OrderPage))]
[JsonSerializable(typeof(OrderHistory))]
[JsonSerializable(typeof(CreateOrderRequest))]
[JsonSerializable(typeof(OrderEvent))]
[JsonSerializable(typeof(List<ItemAvailability>))]
internal sealed partial class OrdersJson : JsonSerializerContext;
