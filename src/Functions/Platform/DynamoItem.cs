using System.Globalization;
using Amazon.DynamoDBv2.Model;

namespace OrderProcessing.Functions.Platform;

/// <summary>Reading and writing the attribute types our items use, with invariant number formatting.</summary>
public static class DynamoItem
{
    public static AttributeValue S(string value) => new() { S = value };

    public static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    public static AttributeValue N(decimal value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    public static AttributeValue Time(DateTimeOffset value) => new() { S = value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) };

    public static string Text(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.S is not null
            ? value.S
            : throw new InvalidDataException($"Item attribute {name} is missing or not a string.");

    public static string? OptionalText(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) ? value.S : null;

    public static long WholeNumber(this Dictionary<string, AttributeValue> item, string name) =>
        long.Parse(RawNumber(item, name), NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>An amount of money, with its two decimals (DynamoDB answers 89.90 as 89.9).</summary>
    public static decimal Amount(this Dictionary<string, AttributeValue> item, string name) =>
        ApiJson.Amount(decimal.Parse(RawNumber(item, name), NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture));

    public static DateTimeOffset Time(this Dictionary<string, AttributeValue> item, string name) =>
        DateTimeOffset.Parse(item.Text(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public static Dictionary<string, AttributeValue> Map(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.M is not null
            ? value.M
            : throw new InvalidDataException($"Item attribute {name} is missing or not a map.");

    public static List<AttributeValue> List(this Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.L is not null ? value.L : [];

    private static string RawNumber(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.N is not null
            ? value.N
            : throw new InvalidDataException($"Item attribute {name} is missing or not a number.");
}
