using System.Diagnostics;
using System.Globalization;

namespace OrderProcessing.Local.Cloud;

/// <summary>
/// <c>moto_server</c> (moto 5), the second, independent AWS emulator: one endpoint for DynamoDB with Streams, SQS,
/// KMS, Secrets Manager and the API Gateway management API. Started on a free port bound to 127.0.0.1 and stopped
/// by its PID when disposed. It is not an npm package: it comes with the machine (or <c>pip install "moto[server]"</c>).
/// </summary>
public sealed class MotoServer : IAsyncDisposable
{
    public const string Executable = "moto_server";

    private readonly EmulatorProcess _process;

    private MotoServer(EmulatorProcess process) => _process = process;

    public Uri Endpoint => _process.Endpoint;

    public int ProcessId => _process.ProcessId;

    /// <summary>Whether moto_server is on the PATH.</summary>
    public static bool IsInstalled => Executables.Find(Executable) is not null;

    public static async Task<MotoServer> StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var executable = Executables.Find(Executable)
            ?? throw new SetupException($"{Executable} was not found on the PATH; install moto 5 with its server (pip install \"moto[server]\").");
        var process = await EmulatorProcess.StartOnFreePortAsync("moto_server",
            port => new ProcessStartInfo(executable) { ArgumentList = { "-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) } },
            port => new Uri($"http://127.0.0.1:{port}/"), ProbeAsync, timeout, progress: null, cancellationToken);
        return new MotoServer(process);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    /// <summary>moto answers its own API (/moto-api/) once the server is up.</summary>
    private static async Task<bool> ProbeAsync(HttpClient http, Uri endpoint, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(endpoint, "/moto-api/data.json"), cancellationToken);
        return response.IsSuccessStatusCode;
    }
}
