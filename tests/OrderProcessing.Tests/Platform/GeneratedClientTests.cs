using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrderProcessing.Local.Seeding;

namespace OrderProcessing.Tests.Platform;

/// <summary>
/// A client generated from docs/openapi.json by openapi-typescript, called through openapi-fetch and compiled by tsc
/// (tests/contract), works against the running local host: token, order, read back, and the documented 409 for a
/// sold-out item. docs/openapi.json is the served document (<see cref="OpenApiDocumentTests"/>), so this is the served
/// contract too.
/// </summary>
public sealed partial class GeneratedClientTests(CloudFixture cloud) : IAsyncLifetime
{
    private static readonly string ContractDirectory = Path.Combine(Repository.Root, "tests", "contract");

    private readonly SystemFixture _system = new(cloud);

    public ValueTask InitializeAsync() => _system.InitializeAsync();

    public ValueTask DisposeAsync() => _system.DisposeAsync();

    [Fact]
    public async Task A_typescript_client_generated_from_the_document_gets_a_token_places_and_reads_an_order_and_gets_409_when_sold_out()
    {
        var cancellation = TestContext.Current.CancellationToken;
        if (!Directory.Exists(Path.Combine(ContractDirectory, "node_modules")))
        {
            await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], cancellation);
        }

        await RunAsync("npm", ["run", "--silent", "build"], cancellation);
        var output = await RunAsync("node",
        [
            "dist/src/customer-flow.js", _system.Api.ToString().TrimEnd('/'), DemoClients.Demo.ClientId, DemoClients.Demo.Secret,
            "demo-mechanical-keyboard", DemoCatalogue.SoldOutProductId,
        ], cancellation);

        Assert.Contains("sold-out item refused with https://orderprocessing.dev/problems/insufficient-stock", output, StringComparison.Ordinal);
        var orderId = OrderId().Match(output).Groups[1].Value;
        using var http = _system.Client(await _system.TokenAsync(DemoClients.Demo.ClientId, DemoClients.Demo.Secret));
        var order = await http.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{orderId}", UriKind.Relative), cancellation);
        Assert.Equal("demo-mechanical-keyboard", order.GetProperty("items")[0].GetProperty("productId").GetString());
        var orders = await http.GetFromJsonAsync<JsonElement>(new Uri("/orders", UriKind.Relative), cancellation);
        Assert.Single(orders.GetProperty("items").EnumerateArray(), o => o.GetProperty("orderId").GetString() == orderId);
    }

    /// <summary>Runs a command in tests/contract; fails the test with its output unless it exits 0.</summary>
    private static async Task<string> RunAsync(string command, IReadOnlyList<string> arguments, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = ContractDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{output}");
        return output;
    }

    [GeneratedRegex("order ([0-9a-f-]{36}) placed")]
    private static partial Regex OrderId();
}
