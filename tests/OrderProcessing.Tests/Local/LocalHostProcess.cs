using System.Diagnostics;
using System.Text.RegularExpressions;

namespace OrderProcessing.Tests.Local;

/// <summary>
/// The local host as a user runs it: its own process, its output read line by line, stopped by signal.
/// </summary>
internal sealed partial class LocalHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LocalHostProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public IReadOnlyList<string> Stdout { get { lock (_stdout) { return [.. _stdout]; } } }

    public IReadOnlyList<string> Stderr { get { lock (_stderr) { return [.. _stderr]; } } }

    /// <summary>The PIDs of the emulators, as the local host reported them when it started each.</summary>
    public IReadOnlyList<int> EmulatorPids =>
        Stdout.Select(l => PidPattern().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToList();

    /// <summary>
    /// Starts `dotnet OrderProcessing.Local.dll` with the given arguments (the local host, or a command such as redrive)
    /// and environment changes (null removes a variable).
    /// </summary>
    public static LocalHostProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OrderProcessing.Local.dll");
        var start = new ProcessStartInfo(DotnetPath)
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var isCommand = start.ArgumentList.Count > 1 && !start.ArgumentList[1].StartsWith('-');
        if (!isCommand && !start.ArgumentList.Contains("--websocket-url"))
        {
            // Tests run side by side: never the default port.
            start.ArgumentList.Add("--websocket-url");
            start.ArgumentList.Add("http://127.0.0.1:0");
        }

        start.Environment.Remove("AWS_ENDPOINT_URL");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var host = new LocalHostProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (host._stdout)
            {
                host._stdout.Add(e.Data);
            }

            if (e.Data.StartsWith("Ready in", StringComparison.Ordinal))
            {
                host._ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (host._stderr)
                {
                    host._stderr.Add(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>
    /// An environment without AWS credentials of any kind: no keys, no profile, no credentials files (HOME is an empty
    /// folder), no instance metadata to ask.
    /// </summary>
    public static Dictionary<string, string?> WithoutAwsCredentials() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = null,
        ["AWS_SECRET_ACCESS_KEY"] = null,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_PROFILE"] = null,
        ["AWS_ENDPOINT_URL_DYNAMODB"] = null,
        ["AWS_ENDPOINT_URL_SQS"] = null,
        ["AWS_WEB_IDENTITY_TOKEN_FILE"] = null,
        ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null,
        ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null,
        ["AWS_SHARED_CREDENTIALS_FILE"] = null,
        ["AWS_CONFIG_FILE"] = null,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["HOME"] = Directory.CreateTempSubdirectory("no-aws").FullName,
    };

    /// <summary>The dotnet host that runs this test run, found without relying on PATH (tests replace it).</summary>
    public static string DotnetPath { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..", "dotnet");

    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var finished = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout));
        if (finished != _ready.Task)
        {
            throw new TimeoutException($"The local host did not become ready. stdout:\n{string.Join('\n', Stdout)}\nstderr:\n{string.Join('\n', Stderr)}");
        }
    }

    /// <summary>The first standard output line that matches, once it has been written.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            if (Stdout.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (cts.IsCancellationRequested || _process.HasExited)
            {
                throw new TimeoutException($"No such line was written. stdout:\n{string.Join('\n', Stdout)}\nstderr:\n{string.Join('\n', Stderr)}");
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends a signal (TERM as a service manager would, INT as Ctrl+C does) with `kill`.</summary>
    public void Signal(string signal = "TERM")
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { $"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with {kill.ExitCode}");
        }
    }

    /// <summary>True when this process inherited the signal as ignored (its children inherit that too).</summary>
    public static bool IsSignalIgnoredHere(int signal)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        var mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        return (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>True while a process with this PID exists and is not a zombie waiting to be reaped.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z";
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Clean up after a failed test, by PID: the host, then anything it reported starting.
        var pids = EmulatorPids;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        foreach (var pid in pids.Where(IsRunning))
        {
            try
            {
                using var orphan = Process.GetProcessById(pid);
                orphan.Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
            }
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"\(pid (\d+)\)")]
    private static partial Regex PidPattern();
}
