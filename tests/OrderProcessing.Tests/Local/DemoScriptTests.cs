using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrderProcessing.Demo;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Tests.Local;

/// <summary>scripts/demo, run against the whole local host: every step it prints happened, and the order it placed was delivered.</summary>
public sealed partial class DemoScriptTests(CloudFixture cloud) : IAsyncLifetime
{
    private readonly SystemFixture _system = new(cloud);

    public ValueTask InitializeAsync() => _system.InitializeAsync();

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    [Fact]
    public async Task The_demo_walks_through_token_order_refusal_live_status_refresh_and_revocation()
    {
        using var output = new StringWriter();

        await new DemoScript(new DemoOptions { Api = _system.Api, WebSocket = _system.WebSocket, DeliveryTimeout = TimeSpan.FromMinutes(1) }, output)
            .RunAsync(TestContext.Current.CancellationToken);

        var text = output.ToString();
        var lines = text.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains(lines, l => l.StartsWith("1. Token", StringComparison.Ordinal) && l.Contains("-> 200", StringComparison.Ordinal) && l.Contains("with a refresh token", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("2. Availability", StringComparison.Ordinal) && l.Contains("available: true", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("3. WebSocket", StringComparison.Ordinal) && l.Contains("connected", StringComparison.Ordinal));
        var placed = Assert.Single(lines, l => l.StartsWith("4. Order", StringComparison.Ordinal));
        Assert.Contains("201 Created", placed, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("5. Sold out", StringComparison.Ordinal) && l.Contains("409 Conflict", StringComparison.Ordinal)
            && l.Contains("insufficient-stock", StringComparison.Ordinal) && l.Contains("in stock 0", StringComparison.Ordinal));
        var shipped = lines.FindIndex(l => StatusLine().Match(l) is { Success: true } m && m.Groups[1].Value == "SHIPPED");
        var delivered = lines.FindIndex(l => StatusLine().Match(l) is { Success: true } m && m.Groups[1].Value == "DELIVERED");
        Assert.True(shipped > 0 && delivered > shipped, $"SHIPPED, then DELIVERED, as they arrived:\n{text}");
        Assert.Contains(lines, l => l.StartsWith("7. Refresh", StringComparison.Ordinal) && l.Contains("-> 200", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("8. Revoke", StringComparison.Ordinal) && l.Contains("401 Unauthorized", StringComparison.Ordinal)
            && l.Contains("revoked", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("refreshing with it -> 400, invalid_grant", StringComparison.Ordinal));
        Assert.Equal("Done: every step answered as it should.", lines.Last(l => l.Length > 0));

        // What the demo printed is what the system holds: its order was delivered.
        var orderId = OrderId().Match(placed).Groups[1].Value;
        using var http = _system.Client(await _system.TokenAsync("demo", "demo-secret"));
        var order = await http.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{orderId}", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal("DELIVERED", order.GetProperty("status").GetString());
    }

    [GeneratedRegex(@"^\s+\+\s*[0-9.]+ s\s+([A-Z_]+)")]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"order ([0-9a-f-]{36})")]
    private static partial Regex OrderId();
}

/// <summary>scripts/demo when there is no system to talk to.</summary>
public sealed class DemoScriptWithoutSystemTests
{
    [Fact]
    public async Task The_demo_says_what_is_wrong_when_nothing_answers()
    {
        var nowhere = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        using var output = new StringWriter();

        var failure = await Assert.ThrowsAsync<DemoException>(() =>
            new DemoScript(new DemoOptions { Api = nowhere }, output).RunAsync(TestContext.Current.CancellationToken));

        Assert.Contains("Is the local host running (scripts/run-local)?", failure.Message, StringComparison.Ordinal);
        Assert.StartsWith($"OrderProcessing demo against {nowhere}", output.ToString(), StringComparison.Ordinal);
    }
}
