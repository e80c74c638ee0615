using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// How every answer is written and every body is read, in one place: numbers are numbers (<c>"2"</c> is not 2),
/// amounts keep two decimals (<c>89.90</c>), and text is escaped only where JSON needs it (quotes, backslash,
/// control characters), so <c>St James's</c> and <c>Zürich</c> arrive as written. Every answer is
/// <c>application/json</c> or <c>application/problem+json</c>, never HTML, so HTML-sensitive characters need no
/// escaping.
/// </summary>
public static class ApiJson
{
    /// <summary>The encoder of every JSON answer, including stored responses replayed byte for byte.</summary>
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    internal static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            options.SerializerOptions.Encoder = Encoder;
            options.SerializerOptions.Converters.Add(new AmountConverter());
        });

    /// <summary>Serializes with the answers' encoder, whatever the options of <paramref name="typeInfo"/> say.</summary>
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Encoder }))
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>An amount of money with at least two decimals: 89.9 is written 89.90, 12 is 12.00.</summary>
    public static decimal Amount(decimal value) => value + 0.00m;

    /// <summary>Every decimal on the wire is an amount of money; a number token only.</summary>
    private sealed class AmountConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out var value) ? value : throw new JsonException();

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(Amount(value));
    }
}
