using System.Text.Json;

namespace OrderProcessing.Functions.Platform;

/// <summary>
/// Collects every problem of a request body, keyed by JSON path ("items[0].quantity"), for one 400
/// ValidationProblem that lists them all. Request records keep unknown members in a
/// <see cref="System.Text.Json.Serialization.JsonExtensionDataAttribute"/> dictionary so they can be reported here.
/// </summary>
public sealed class RequestValidation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public void Add(string path, string message)
    {
        if (!_errors.TryGetValue(path, out var messages))
        {
            _errors[path] = messages = [];
        }

        messages.Add(message);
    }

    /// <summary>Reports each member the request type does not declare.</summary>
    public void RejectUnknown(string prefix, IReadOnlyDictionary<string, JsonElement>? unknown)
    {
        foreach (var name in unknown?.Keys ?? Enumerable.Empty<string>())
        {
            Add(Join(prefix, name), "Unknown field.");
        }
    }

    /// <summary>Requires a non-blank string of at most <paramref name="maxLength"/> characters.</summary>
    public void Required(string path, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(path, "Required.");
        }
        else
        {
            Bounded(path, value, maxLength);
        }
    }

    public void Bounded(string path, string? value, int maxLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            Add(path, $"At most {maxLength} characters.");
        }

        if (value is not null && value.Any(char.IsControl))
        {
            Add(path, "Control characters are not allowed.");
        }
    }

    public static string Join(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
