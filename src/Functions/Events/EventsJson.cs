using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderProcessing.Functions.Events;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DynamoDbStreamEvent))]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(WebSocketEvent))]
[JsonSerializable(typeof(WebSocketResponse))]
[JsonSerializable(typeof(BatchResponse))]
internal sealed partial class EventsJson : JsonSerializerContext;

/// <summary>Registration of the /events dispatch.</summary>
public static class EventsSetup
{
    public static IServiceCollection AddEvents(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, EventsJson.Default));
}
