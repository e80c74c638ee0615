using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Platform;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class PlatformJson : JsonSerializerContext;
