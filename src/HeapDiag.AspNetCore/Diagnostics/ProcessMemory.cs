using System.Diagnostics;
using System.Globalization;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>The process's own memory and thread counts.</summary>
internal readonly record struct ProcessMemoryInfo(long WorkingSetBytes, long PeakWorkingSetBytes, long PrivateBytes, int Threads);

/// <summary>
/// Reads <see cref="ProcessMemoryInfo"/> from one file on Linux. System.Diagnostics.Process gives the same values
/// but reads /proc/self/stat, /proc/self/status and one file per thread to count threads, which made
/// <c>GET /memory</c> cost milliseconds; elsewhere Process is used.
/// </summary>
internal static class ProcessMemory
{
    private const string StatusFile = "/proc/self/status";

    public static ProcessMemoryInfo Read()
    {
        if (OperatingSystem.IsLinux() && TryReadStatus(out var fromStatus))
        {
            return fromStatus;
        }

        using var process = Process.GetCurrentProcess();
        return new ProcessMemoryInfo(process.WorkingSet64, process.PeakWorkingSet64, process.PrivateMemorySize64, process.Threads.Count);
    }

    // Field meanings as in proc(5); "private bytes" is VmData, which is what Process.PrivateMemorySize64 reports on Linux.
    private static bool TryReadStatus(out ProcessMemoryInfo info)
    {
        info = default;
        string text;
        try
        {
            text = File.ReadAllText(StatusFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        long rss = -1, peak = -1, data = -1, threads = -1;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (name.SequenceEqual("VmRSS"))
            {
                rss = Kilobytes(value);
            }
            else if (name.SequenceEqual("VmHWM"))
            {
                peak = Kilobytes(value);
            }
            else if (name.SequenceEqual("VmData"))
            {
                data = Kilobytes(value);
            }
            else if (name.SequenceEqual("Threads"))
            {
                threads = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : -1;
            }
        }

        if (rss < 0 || peak < 0 || data < 0 || threads < 0)
        {
            return false;
        }

        info = new ProcessMemoryInfo(rss, peak, data, (int)threads);
        return true;
    }

    private static long Kilobytes(ReadOnlySpan<char> value)
    {
        var space = value.IndexOf(' ');
        var number = space < 0 ? value : value[..space];
        return long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes) ? kilobytes * 1024 : -1;
    }
}
