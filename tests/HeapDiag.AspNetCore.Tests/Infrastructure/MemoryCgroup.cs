using System.Globalization;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real memory limit without a container engine: a child group under this process's own memory cgroup (v1:
/// <c>memory.limit_in_bytes</c>; v2: <c>memory.max</c>), which a process joins by writing its id to
/// <c>cgroup.procs</c>. Needs root and a writable cgroup file system; <see cref="Unavailable"/> says what is missing.
/// Reads the peak usage, the limit hits and the OOM kills afterwards; removed on dispose.
/// </summary>
public sealed class MemoryCgroup : IAsyncDisposable
{
    private MemoryCgroup(string path, int version)
    {
        DirectoryPath = path;
        Version = version;
    }

    public string DirectoryPath { get; }

    public int Version { get; }

    /// <summary>Why no memory cgroup can be made here, or null when one can.</summary>
    public static string? Unavailable { get; } = Probe();

    /// <summary>The processes file a shell writes its pid to before it execs the program to limit.</summary>
    public string ProcessesFile => Path.Combine(DirectoryPath, "cgroup.procs");

    /// <summary>The most memory the group has used.</summary>
    public long PeakBytes => Read(Version == 1 ? "memory.max_usage_in_bytes" : "memory.peak");

    /// <summary>Times the group reached its limit (and the kernel had to reclaim page cache).</summary>
    public long LimitHits => Version == 1 ? Read("memory.failcnt") : ReadKey("memory.events", "max");

    /// <summary>Processes the kernel's OOM killer ended in the group.</summary>
    public long OomKills => ReadKey(Version == 1 ? "memory.oom_control" : "memory.events", "oom_kill");

    public static MemoryCgroup Create(string name, long limitBytes)
    {
        (var parent, var version) = OwnGroup() ?? throw new InvalidOperationException(Unavailable);
        var path = Path.Combine(parent, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, version == 1 ? "memory.limit_in_bytes" : "memory.max"), limitBytes.ToString(CultureInfo.InvariantCulture));
        return new MemoryCgroup(path, version);
    }

    public async ValueTask DisposeAsync()
    {
        // A group can only be removed once empty: whatever still runs in it is killed first, and the kernel takes a
        // moment to let the group go.
        foreach (var line in File.Exists(ProcessesFile) ? File.ReadAllLines(ProcessesFile) : [])
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(int.Parse(line, CultureInfo.InvariantCulture)).Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
            }
        }

        await Poll.UntilAsync(TryRemove, $"the memory cgroup {DirectoryPath} to be removed");
    }

    private bool TryRemove()
    {
        try
        {
            Directory.Delete(DirectoryPath);
            return true;
        }
        catch (IOException)
        {
            return !Directory.Exists(DirectoryPath);
        }
    }

    private long Read(string file) => long.Parse(File.ReadAllText(Path.Combine(DirectoryPath, file)).Trim(), CultureInfo.InvariantCulture);

    private long ReadKey(string file, string key) =>
        File.ReadLines(Path.Combine(DirectoryPath, file)).Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[0] == key).Select(p => long.Parse(p[1], CultureInfo.InvariantCulture)).FirstOrDefault();

    /// <summary>This process's memory cgroup directory and the cgroup version, from /proc/self/cgroup.</summary>
    private static (string Path, int Version)? OwnGroup()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/cgroup"))
        {
            return null;
        }

        foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1].Split(',').Contains("memory") && Directory.Exists("/sys/fs/cgroup/memory" + parts[2]))
            {
                return ("/sys/fs/cgroup/memory" + parts[2], 1);
            }
        }

        var v2 = File.ReadAllLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..];
        return v2 is not null && File.Exists(Path.Combine("/sys/fs/cgroup" + v2, "cgroup.subtree_control"))
            && File.ReadAllText(Path.Combine("/sys/fs/cgroup" + v2, "cgroup.subtree_control")).Contains("memory", StringComparison.Ordinal)
            ? ("/sys/fs/cgroup" + v2, 2)
            : null;
    }

    private static string? Probe()
    {
        if (OwnGroup() is not { } own)
        {
            return "no memory cgroup this process can make a child group in (/proc/self/cgroup names none, or cgroup v2 without the memory controller delegated)";
        }

        var probe = Path.Combine(own.Path, $"heapdiag-probe-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot create a child memory cgroup under {own.Path} ({ex.Message}); run as root";
        }
    }
}

/// <summary>A fact that needs a memory cgroup; skipped, naming what is missing, where none can be made.</summary>
public sealed class RequiresMemoryCgroupFactAttribute : FactAttribute
{
    public RequiresMemoryCgroupFactAttribute()
    {
        if (MemoryCgroup.Unavailable is { } missing)
        {
            Skip = $"Needs a memory cgroup: {missing}. CI runs as root, where it is available.";
        }
    }
}
