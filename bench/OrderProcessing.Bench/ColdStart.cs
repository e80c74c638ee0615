using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using OrderProcessing.Functions.Auth;
using OrderProcessing.Functions.Products;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Bench;

/// <summary>
/// Cold start of published builds of the Functions app (bench/cold-start/run.sh publishes them), against the
/// emulators: each build is started RUNS times, round-robin so that a busy spell of the machine falls on every
/// build alike, as Lambda starts a function's bootstrap (its package folder, the functions' environment, the
/// emulators' endpoints and credentials). Measured per start: process start → first GET /health 200 (what the Web
/// Adapter waits for), process start → first 201 from POST /orders with a real token (the first invocation, where
/// JIT compilation lands), and the resident memory after that order. Then the package size of each build, and
/// steady-state POST /orders throughput of each build at 8 clients.
/// </summary>
internal static class ColdStart
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task RunAsync(string root, IReadOnlyList<(string Name, string Directory)> builds, int runs, int orders,
        CancellationToken cancellationToken)
    {
        // One token issuer for the host and every started build, as behind the one HTTP API domain on AWS; left
        // empty, each process would name its own port and refuse the others' tokens.
        Environment.SetEnvironmentVariable("AUTH_ISSUER", "https://cold-start.bench");
        await using var host = await LocalHost.StartAsync(new LocalHostOptions
        {
            RepositoryRoot = root,
            Urls = ["http://127.0.0.1:0"],
            WebSocketUrl = "http://127.0.0.1:0",
            StackName = $"cold-{Guid.NewGuid():N}"[..14],
            StartEventSources = false,
            Settings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" },
        }, cancellationToken);
        var productsTable = host.Stack.Tables["ProductsTable"];
        var productId = $"cold-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        await host.App.Services.GetRequiredService<IAmazonDynamoDB>().PutItemAsync(productsTable,
            ProductStore.ToItem(new Product(productId, "Cold start", null, 1m, "EUR", 10_000_000, now, now)), cancellationToken);
        var token = await TokenAsync(host, cancellationToken);

        var results = builds.ToDictionary(b => b.Name, _ => new List<Start>());
        foreach (var (name, directory) in builds)
        {
            await StartOnceAsync(root, host, directory, token, productId, cancellationToken); // page cache: every build from the same warm disk
        }

        for (var run = 0; run < runs; run++)
        {
            foreach (var (name, directory) in builds)
            {
                results[name].Add(await StartOnceAsync(root, host, directory, token, productId, cancellationToken));
            }

            Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] round {run + 1}/{runs}");
        }

        var throughput = new Dictionary<string, (double OrdersPerSecond, double CpuMillisecondsPerOrder)>();
        foreach (var (name, directory) in builds)
        {
            throughput[name] = await ThroughputAsync(root, host, directory, token, productId, orders, cancellationToken);
        }

        var baseline = builds.FirstOrDefault(b => b.Name == "r2r").Name ?? builds[0].Name;
        var jit = builds.FirstOrDefault(b => b.Name == "plain").Name ?? baseline;
        var health = results.ToDictionary(r => r.Key, r => Median(r.Value.Select(s => s.Health.TotalMilliseconds)));
        var order = results.ToDictionary(r => r.Key, r => Median(r.Value.Select(s => s.FirstOrder.TotalMilliseconds)));
        var rss = results.ToDictionary(r => r.Key, r => Median(r.Value.Select(s => s.RssMegabytes)));
        var cpu = results.ToDictionary(r => r.Key, r => Median(r.Value.Select(s => s.CpuMilliseconds)));
        Console.WriteLine($"{runs} starts of each build, round-robin; ratios against {baseline}; throughput: {orders} orders at 8 clients after 100 warm-up orders.");
        Console.WriteLine();
        Console.WriteLine("| build | (a) start → /health 200, median (p95) | ratio | (b) start → first 201 POST /orders, median (p95) | ratio | (c) RSS after the first order, median | ratio | CPU time to the first 201, median | ratio | (d) package | POST /orders at 8 clients | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, directory) in builds)
        {
            var starts = results[name];
            Console.WriteLine(string.Create(Invariant,
                $"| {name} | {health[name]:0} ms ({P95(starts.Select(s => s.Health.TotalMilliseconds)):0} ms) | {health[name] / health[baseline]:0.00}x | {order[name]:0} ms ({P95(starts.Select(s => s.FirstOrder.TotalMilliseconds)):0} ms) | {order[name] / order[baseline]:0.00}x | {rss[name]:0} MB | {rss[name] / rss[baseline]:0.00}x | {cpu[name]:0} ms | {cpu[name] / cpu[baseline]:0.00}x | {PackageMegabytes(directory):0.0} MB | {throughput[name].OrdersPerSecond:0} orders/s | {throughput[name].OrdersPerSecond / throughput[jit].OrdersPerSecond:0.00}x of {jit} |"));
        }

        // Lambda gives a function CPU in proportion to its memory, a full vCPU at 1,769 MB: CPU time measured here,
        // divided by that share, is what the CPU-bound part of a start or an order takes at each size.
        Console.WriteLine();
        Console.WriteLine("CPU time measured above, at the CPU share Lambda gives each memory size (1,769 MB = 1 vCPU):");
        Console.WriteLine();
        Console.WriteLine("| build | CPU per order (steady state) | memory | CPU share | start → first 201, CPU-bound part | one order, CPU-bound part |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, _) in builds)
        {
            foreach (var megabytes in new[] { 128, 256, 512, 1024, 1769 })
            {
                var share = megabytes / 1769.0;
                Console.WriteLine(string.Create(Invariant,
                    $"| {name} | {throughput[name].CpuMillisecondsPerOrder:0.00} ms | {megabytes} MB | {share:0.00} | {cpu[name] / share:0} ms | {throughput[name].CpuMillisecondsPerOrder / share:0.0} ms |"));
            }
        }
    }

    private sealed record Start(TimeSpan Health, TimeSpan FirstOrder, double RssMegabytes, double CpuMilliseconds);

    private static async Task<Start> StartOnceAsync(string root, LocalHost host, string directory, string token, string productId,
        CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        using var http = Client(port, token);
        var clock = Stopwatch.StartNew();
        using var process = Launch(root, host, directory, port);
        try
        {
            var health = await FirstAsync(process, clock, () => http.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken), HttpStatusCode.OK);
            var firstOrder = await FirstAsync(process, clock, () => PlaceAsync(http, productId, cancellationToken), HttpStatusCode.Created);
            return new Start(health, firstOrder, ResidentMegabytes(process), CpuMilliseconds(process));
        }
        finally
        {
            await StopAsync(process);
        }
    }

    private static async Task<(double OrdersPerSecond, double CpuMillisecondsPerOrder)> ThroughputAsync(string root, LocalHost host, string directory, string token, string productId, int orders,
        CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        using var http = Client(port, token);
        using var process = Launch(root, host, directory, port);
        try
        {
            await FirstAsync(process, Stopwatch.StartNew(), () => http.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken), HttpStatusCode.OK);
            await PlaceManyAsync(http, productId, 100, cancellationToken);
            var cpuBefore = CpuMilliseconds(process);
            var clock = Stopwatch.StartNew();
            await PlaceManyAsync(http, productId, orders, cancellationToken);
            return (orders / clock.Elapsed.TotalSeconds, (CpuMilliseconds(process) - cpuBefore) / orders);
        }
        finally
        {
            await StopAsync(process);
        }
    }

    private static async Task PlaceManyAsync(HttpClient http, string productId, int count, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                using var response = await PlaceAsync(http, productId, cancellationToken);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"POST /orders answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
        }));
    }

    private static Task<HttpResponseMessage> PlaceAsync(HttpClient http, string productId, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = new StringContent(
                $$$"""{"items":[{"productId":"{{{productId}}}","quantity":1}],"shippingAddress":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"}}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        return http.SendAsync(request, cancellationToken);
    }

    /// <summary>Polls until the call answers <paramref name="expected"/>; the time since the process started.</summary>
    private static async Task<TimeSpan> FirstAsync(Process process, Stopwatch clock, Func<Task<HttpResponseMessage>> call, HttpStatusCode expected)
    {
        while (clock.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The app exited with {process.ExitCode}.");
            }

            try
            {
                using var response = await call();
                if (response.StatusCode == expected)
                {
                    return clock.Elapsed;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    throw new InvalidOperationException($"Answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(2);
        }

        throw new TimeoutException($"No {(int)expected} within a minute.");
    }

    private static Process Launch(string root, LocalHost host, string directory, int port)
    {
        var start = new ProcessStartInfo(Path.Combine(directory, "OrderProcessing.Functions"))
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in host.Stack.Environment)
        {
            start.Environment[name] = value;
        }

        foreach (var (name, value) in host.Cloud.ClientSettings)
        {
            start.Environment[name] = value;
        }

        start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(Invariant);
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment["AUTH_LOCAL_KEY_DIR"] = Path.Combine(root, ".local", "signing-keys");
        start.Environment["WEBSOCKET_CALLBACK_URL"] = host.WebSockets.CallbackUrl.ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "cold-start";
        start.Environment["AUTH_ISSUER"] = "https://cold-start.bench";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the app in {directory}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync(CancellationToken.None);
    }

    private static HttpClient Client(int port, string token)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>A customer token from the local host, signed with the key folder the started builds read.</summary>
    private static async Task<string> TokenAsync(LocalHost host, CancellationToken cancellationToken)
    {
        var registry = host.App.Services.GetRequiredService<ClientRegistry>();
        var clientId = $"cold-{Guid.NewGuid():N}";
        var (_, secret) = await registry.RegisterAsync(new ClientRegistration("cold start", Scopes.Customer, new RateLimit(10_000_000, 60)), clientId, cancellationToken: cancellationToken)
            ?? throw new InvalidOperationException("The bench client exists already.");
        using var http = new HttpClient { BaseAddress = host.Urls[0] };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!
            : throw new InvalidOperationException($"POST /oauth/token answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>VmRSS of the process, from /proc.</summary>
    private static double ResidentMegabytes(Process process) =>
        File.ReadLines($"/proc/{process.Id}/status")
            .Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => double.Parse(l["VmRSS:".Length..].Trim().Split(' ')[0], Invariant) / 1024)
            .First();

    /// <summary>User plus system CPU time the process has used, from /proc (fields 14 and 15, in clock ticks of 10 ms).</summary>
    private static double CpuMilliseconds(Process process)
    {
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], Invariant) + long.Parse(fields[12], Invariant)) * 10.0;
    }

    private static double PackageMegabytes(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1024.0 / 1024.0;

    private static double Median(IEnumerable<double> values) => Stats.Percentile([.. values.Order()], 50);

    private static double P95(IEnumerable<double> values) => Stats.Percentile([.. values.Order()], 95);
}
