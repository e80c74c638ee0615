using System.Globalization;

namespace OrderProcessing.Bench;

/// <summary>What the bench ran on, and how busy it was meanwhile (the 1-minute load average, sampled every 5 s).</summary>
internal sealed class Machine : IDisposable
{
    private readonly List<double> _load = [];
    private readonly Timer _sampler;

    public Machine() => _sampler = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromSeconds(5));

    public static string Describe()
    {
        var cpu = Read("/proc/cpuinfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var memory = Read("/proc/meminfo")?.Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } line
            && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture, out var kb)
                ? $"{kb / 1024.0 / 1024.0:0.#} GiB RAM"
                : "RAM unknown";
        return string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores ({cpu}), {memory}, {Environment.OSVersion.VersionString}, .NET {Environment.Version}");
    }

    /// <summary>The 1-minute load average seen during the run: at start, lowest, highest, at the end.</summary>
    public string LoadDuringRun()
    {
        Sample();
        lock (_load)
        {
            return _load.Count == 0
                ? "unknown"
                : string.Create(CultureInfo.InvariantCulture, $"{_load[0]:0.00} at start, {_load.Min():0.00}–{_load.Max():0.00} during, {_load[^1]:0.00} at the end");
        }
    }

    private void Sample()
    {
        if (Read("/proc/loadavg") is { } text && double.TryParse(text.Split(' ')[0], CultureInfo.InvariantCulture, out var load))
        {
            lock (_load)
            {
                _load.Add(load);
            }
        }
    }

    private static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    public void Dispose() => _sampler.Dispose();
}
