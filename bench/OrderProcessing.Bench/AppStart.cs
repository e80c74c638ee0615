using System.Diagnostics;
using OrderProcessing.Local;
using OrderProcessing.Local.Cloud;

namespace OrderProcessing.Bench;

/// <summary>
/// The Functions app as Lambda starts it: a new process (`dotnet OrderProcessing.Functions.dll`, what the Web
/// Adapter's bootstrap runs) with a function's environment, timed from process start to its first
/// GET /health 200 (the adapter's readiness check). The process is stopped by its PID afterwards.
/// </summary>
internal static class AppStart
{
    public static async Task<TimeSpan?> FunctionsProcessAsync(LocalHost host, string repositoryRoot, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OrderProcessing.Functions.dll");
        if (!File.Exists(dll) || !File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
        {
            return null;
        }

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var start = new ProcessStartInfo(DotnetPath)
        {
            WorkingDirectory = Path.Combine(repositoryRoot, "src", "Functions"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var (name, value) in host.Stack.Environment)
        {
            start.Environment[name] = value;
        }

        foreach (var (name, value) in host.Cloud.ClientSettings)
        {
            start.Environment[name] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = url;
        start.Environment["AUTH_LOCAL_KEY_DIR"] = Path.Combine(repositoryRoot, ".local", "signing-keys");
        start.Environment["WEBSOCKET_CALLBACK_URL"] = host.WebSockets.CallbackUrl.ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            while (clock.Elapsed < TimeSpan.FromMinutes(1) && !process.HasExited)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"{url}/health"), cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        return clock.Elapsed;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }

                await Task.Delay(10, cancellationToken);
            }

            return null;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>The dotnet host running this process (the bench itself may run from its apphost).</summary>
    private static string DotnetPath { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..", "dotnet"));
}
