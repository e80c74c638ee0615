using System.Globalization;
using System.Runtime.InteropServices;

namespace OrderProcessing.Bench;

/// <summary>
/// DynamoDB Local on a CPU of its own, the rest of the run (the load, the local host, fauxqs) on the other CPUs. On AWS
/// DynamoDB never runs on the function's CPU; on a machine of two cores shared by all, the emulator's rate depends on
/// how busy the host keeps the other threads, so a ratio to raw writes would measure that contention, not what the
/// host adds to an order. Linux only, and only with two or more CPUs to split; every thread of each process is
/// moved, and threads started later inherit the CPUs of the thread that starts them.
/// </summary>
internal static partial class CpuSplit
{
    private const int MaskWords = 16;

    /// <summary>Splits the CPUs; what was done, for the report, or null when there is nothing to split.</summary>
    public static string? Apply(int emulatorProcessId, IEnumerable<int> otherProcessIds)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var allowed = new ulong[MaskWords];
        if (sched_getaffinity(0, MaskWords * sizeof(ulong), allowed) != 0)
        {
            return null;
        }

        var cpus = Enumerable.Range(0, MaskWords * 64).Where(c => (allowed[c / 64] & (1UL << (c % 64))) != 0).ToList();
        if (cpus.Count < 2)
        {
            return null;
        }

        var emulatorCpu = cpus[^1];
        var rest = cpus[..^1];
        var emulatorMask = Mask([emulatorCpu]);
        var restMask = Mask(rest);
        foreach (var process in otherProcessIds.Prepend(Environment.ProcessId))
        {
            Pin(process, restMask);
        }

        Pin(emulatorProcessId, emulatorMask);
        return string.Create(CultureInfo.InvariantCulture,
            $"DynamoDB Local alone on CPU {emulatorCpu}, the load, the local host and fauxqs on CPU {string.Join(", ", rest)} (`--shared-cpus` to let all share all)");
    }

    private static ulong[] Mask(IEnumerable<int> cpus)
    {
        var mask = new ulong[MaskWords];
        foreach (var cpu in cpus)
        {
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }

        return mask;
    }

    /// <summary>Every thread of the process; twice, for threads started by a thread not yet moved.</summary>
    private static void Pin(int processId, ulong[] mask)
    {
        for (var pass = 0; pass < 2; pass++)
        {
            var tasks = $"/proc/{processId}/task";
            if (!Directory.Exists(tasks))
            {
                return;
            }

            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                if (int.TryParse(Path.GetFileName(task), CultureInfo.InvariantCulture, out var threadId))
                {
                    // A thread that has ended meanwhile fails with ESRCH: nothing to move.
                    _ = sched_setaffinity(threadId, MaskWords * sizeof(ulong), mask);
                }
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nint cpusetsize, [Out] ulong[] mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nint cpusetsize, ulong[] mask);
}
