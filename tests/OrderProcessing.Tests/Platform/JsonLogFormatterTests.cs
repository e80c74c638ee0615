using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrderProcessing.Functions.Platform;

namespace OrderProcessing.Tests.Platform;

public sealed class JsonLogFormatterTests
{
    [Fact]
    public void A_log_line_is_one_JSON_object_with_the_Powertools_keys_and_snake_case_fields()
    {
        var scopes = new LoggerExternalScopeProvider();
        using var invocation = scopes.Push(new Dictionary<string, object>
        {
            ["cold_start"] = true,
            ["function_request_id"] = "req-1",
            ["function_name"] = "OrdersApi",
            ["xray_trace_id"] = "Root=1-abc",
        });
        using var correlation = scopes.Push(new Dictionary<string, object> { ["correlation_id"] = "corr-9" });

        var line = Format(LogLevel.Information, "Order {OrderId} created with {LineCount} lines", "o-1", 3, scopes);
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;

        Assert.DoesNotContain('\n', line.TrimEnd('\n'));
        Assert.Equal("Information", root.GetProperty("level").GetString());
        Assert.Equal("Order o-1 created with 3 lines", root.GetProperty("message").GetString());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("timestamp").GetString(), out _));
        Assert.Equal("shop", root.GetProperty("service").GetString());
        Assert.True(root.GetProperty("cold_start").GetBoolean());
        Assert.Equal("OrdersApi", root.GetProperty("function_name").GetString());
        Assert.Equal("req-1", root.GetProperty("function_request_id").GetString());
        Assert.Equal("corr-9", root.GetProperty("correlation_id").GetString());
        Assert.Equal("Root=1-abc", root.GetProperty("xray_trace_id").GetString());
        Assert.Equal("o-1", root.GetProperty("order_id").GetString());
        Assert.Equal(3, root.GetProperty("line_count").GetInt32());
    }

    [Fact]
    public void Without_an_invocation_the_configured_function_name_and_a_warm_start_are_written()
    {
        var line = Format(LogLevel.Warning, "Plain", null, null, new LoggerExternalScopeProvider());
        using var json = JsonDocument.Parse(line);

        Assert.Equal("Warning", json.RootElement.GetProperty("level").GetString());
        Assert.False(json.RootElement.GetProperty("cold_start").GetBoolean());
        Assert.Equal("local", json.RootElement.GetProperty("function_name").GetString());
    }

    private static string Format(LogLevel level, string template, object? first, object? second, IExternalScopeProvider scopes)
    {
        var formatter = new JsonLogFormatter(new StaticOptions(new JsonLogFormatterOptions { Service = "shop", FunctionName = "local" }));
        var args = new[] { first, second }.Where(a => a is not null).ToArray();
        var state = new FormattedState(template, args!);
        var entry = new LogEntry<FormattedState>(level, "Tests", default, state, null, (s, _) => s.ToString());
        using var writer = new StringWriter();
        formatter.Write(entry, scopes, writer);
        return writer.ToString();
    }

    /// <summary>The state ILogger's message templates produce: the values by name plus the template.</summary>
    private sealed class FormattedState(string template, object[] values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly List<KeyValuePair<string, object?>> _pairs = Build(template, values);

        public int Count => _pairs.Count;

        public KeyValuePair<string, object?> this[int index] => _pairs[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _pairs.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString()
        {
            var text = template;
            foreach (var (key, value) in _pairs.Where(p => p.Key != "{OriginalFormat}"))
            {
                text = text.Replace("{" + key + "}", Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            }

            return text;
        }

        private static List<KeyValuePair<string, object?>> Build(string template, object[] values)
        {
            var names = System.Text.RegularExpressions.Regex.Matches(template, @"\{(\w+)\}").Select(m => m.Groups[1].Value).ToList();
            var pairs = names.Zip(values, (n, v) => KeyValuePair.Create(n, (object?)v)).ToList();
            pairs.Add(KeyValuePair.Create("{OriginalFormat}", (object?)template));
            return pairs;
        }
    }

    private sealed class StaticOptions(JsonLogFormatterOptions value) : IOptionsMonitor<JsonLogFormatterOptions>
    {
        public JsonLogFormatterOptions CurrentValue => value;

        public JsonLogFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonLogFormatterOptions, string?> listener) => null;
    }
}
