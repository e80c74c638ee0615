using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Delivery;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DeliveryStatusChanged))]
[JsonSerializable(typeof(CarrierStep))]
[JsonSerializable(typeof(CarrierWebhookEvent))]
[JsonSerializable(typeof(CarrierWebhookResult))]
internal sealed partial class DeliveryJson : JsonSerializerContext;
