using System.Diagnostics;
using System.Text;

namespace OrderProcessing.Local.Cloud;

/// <summary>
/// One emulator running as a child process: started on a given port, probed until it answers,
/// and stopped by its PID (with anything it started) when disposed.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private EmulatorProcess(string name, Process process, Uri endpoint)
    {
        Name = name;
        _process = process;
        Endpoint = endpoint;
    }

    public string Name { get; }

    public Uri Endpoint { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    internal static EmulatorProcess Start(string name, ProcessStartInfo startInfo, Uri endpoint)
    {
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = true;
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var emulator = new EmulatorProcess(name, process, endpoint);
        process.OutputDataReceived += (_, e) => emulator.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => emulator.Capture(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SetupException($"{name} could not be started ({startInfo.FileName}: {e.Message}).", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return emulator;
    }

    /// <summary>Attempts at a free port: between choosing a port and the emulator listening on it, another process may take it.</summary>
    private const int PortAttempts = 5;

    /// <summary>
    /// Starts an emulator on a port the OS says is free and waits until it answers; when the port was taken in the
    /// meantime (checked before the start, or said by the emulator as it exits), starts it again on another.
    /// </summary>
    internal static async Task<EmulatorProcess> StartOnFreePortAsync(string name, Func<int, ProcessStartInfo> startInfo, Func<int, Uri> endpointOf,
        Func<HttpClient, Uri, CancellationToken, Task<bool>> probe, TimeSpan timeout, Action<string>? progress, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            if (FreePort.IsTaken(port))
            {
                if (attempt < PortAttempts)
                {
                    continue;
                }

                throw new SetupException($"Port {port} for {name} is already in use; stop what holds it and start again.");
            }

            var endpoint = endpointOf(port);
            var clock = Stopwatch.StartNew();
            var emulator = Start(name, startInfo(port), endpoint);
            progress?.Invoke($"{name} started (pid {emulator.ProcessId}), waiting for {endpoint}");
            try
            {
                await emulator.WaitUntilReadyAsync(probe, timeout, cancellationToken);
            }
            catch (SetupException) when (attempt < PortAttempts && emulator.HasExited && emulator.SaidAddressInUse())
            {
                await emulator.DisposeAsync();
                progress?.Invoke($"{name} found port {port} taken; trying another");
                continue;
            }
            catch
            {
                await emulator.DisposeAsync();
                throw;
            }

            progress?.Invoke($"{name} answered after {clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s");
            return emulator;
        }
    }

    /// <summary>Probes until the emulator answers, it exits, or the timeout passes.</summary>
    internal async Task WaitUntilReadyAsync(Func<HttpClient, Uri, CancellationToken, Task<bool>> probe,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new SetupException(
                    $"{Name} exited with code {_process.ExitCode} while starting: {LastOutputLine()}");
            }

            try
            {
                if (await probe(http, Endpoint, cancellationToken))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed >= timeout)
            {
                throw new SetupException(
                    $"{Name} did not answer on {Endpoint} within {timeout.TotalSeconds:0.#} s; " +
                    "check that the machine is not overloaded and the port is not blocked, or raise --emulator-timeout.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>Whether the emulator said it could not listen because its port is taken (Java and Node.js say it alike).</summary>
    private bool SaidAddressInUse()
    {
        lock (_output)
        {
            return _output.ToString().Contains("in use", StringComparison.OrdinalIgnoreCase);
        }
    }

    public string LastOutputLine()
    {
        lock (_output)
        {
            var lines = _output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "(no output)" : lines[^1];
        }
    }

    /// <summary>Stops the emulator and every process it started; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length > 64 * 1024)
            {
                _output.Remove(0, _output.Length / 2);
            }

            _output.AppendLine(line);
        }
    }
}
