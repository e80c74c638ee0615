using System.Globalization;
using OrderProcessing.Demo;

// scripts/demo [--api URL] [--ws URL] [--client ID --secret SECRET] [--product ID] [--sold-out ID] [--timeout SECONDS]
var options = new DemoOptions();
// Where a local host on other ports is (scripts/doc-examples runs the documented `scripts/demo` against its own).
if (Environment.GetEnvironmentVariable("ORDERPROCESSING_API_URL") is { Length: > 0 } apiUrl)
{
    options = options with { Api = new Uri(apiUrl) };
}

if (Environment.GetEnvironmentVariable("ORDERPROCESSING_WEBSOCKET_URL") is { Length: > 0 } webSocketUrl)
{
    options = options with { WebSocket = new Uri(webSocketUrl) };
}

for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--api" when value is not null:
            options = options with { Api = new Uri(value) };
            i++;
            break;
        case "--ws" when value is not null:
            options = options with { WebSocket = new Uri(value) };
            i++;
            break;
        case "--client" when value is not null:
            options = options with { ClientId = value };
            i++;
            break;
        case "--secret" when value is not null:
            options = options with { ClientSecret = value };
            i++;
            break;
        case "--product" when value is not null:
            options = options with { Product = value };
            i++;
            break;
        case "--sold-out" when value is not null:
            options = options with { SoldOutProduct = value };
            i++;
            break;
        case "--timeout" when value is not null && double.TryParse(value, CultureInfo.InvariantCulture, out var seconds):
            options = options with { DeliveryTimeout = TimeSpan.FromSeconds(seconds) };
            i++;
            break;
        case "-h" or "--help":
            Console.WriteLine("""
                Usage: scripts/demo [options]
                  --api URL          the HTTP API (default ORDERPROCESSING_API_URL or http://localhost:5000, the local host)
                  --ws URL           the WebSocket API (default ORDERPROCESSING_WEBSOCKET_URL or the local host's, port + 1 of a local --api)
                  --client ID        OAuth client id (default demo, seeded by the local host)
                  --secret SECRET    its secret (default demo-secret)
                  --product ID       a product in stock (default demo-usb-c-cable)
                  --sold-out ID      a product out of stock (default demo-sold-out-mug)
                  --timeout SECONDS  how long to wait for DELIVERED (default 180)
                """);
            return 0;
        default:
            await Console.Error.WriteLineAsync($"error: unknown option {args[i]}; see --help.");
            return 2;
    }
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
try
{
    await new DemoScript(options, Console.Out).RunAsync(cancel.Token);
    return 0;
}
catch (DemoException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
