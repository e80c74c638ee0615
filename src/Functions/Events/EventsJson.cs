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
        services.AddSingleton<EventRoutes>()
            .AddSingleton<QueueRetry>()
            .AddSingleton(sp => Microsoft.Extensions.Options.Options.Create(QueueRetryOptions.From(sp.GetRequiredService<IConfiguration>())))
            .ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, EventsJson.Default));
}

internal static class EventJson
{
    /// <summary>The string value of <paramref name="property"/>, or null when the element has none.</summary>
    public static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
