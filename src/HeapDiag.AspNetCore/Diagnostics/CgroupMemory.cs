using System.Globalization;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// Reads the memory limit and usage of the control group this process runs in (cgroup v2 first, then v1).
/// Inside a container the group's files are mounted at the root of /sys/fs/cgroup; on a host they sit
/// under the path /proc/self/cgroup names, so both places are tried.
/// </summary>
internal static class CgroupMemory
{
    // cgroup v1 reports "no limit" as a huge page-aligned number rather than a word.
    private const long V1UnlimitedFloor = long.MaxValue / 2;

    public static ContainerInfo? Read() => OperatingSystem.IsLinux() ? Read("/proc/self/cgroup", "/sys/fs/cgroup") : null;

    /// <summary>Reads from <paramref name="cgroupFile"/> (as /proc/self/cgroup) and a cgroup file system mounted at <paramref name="root"/>.</summary>
    internal static ContainerInfo? Read(string cgroupFile, string root)
    {
        try
        {
            var groups = File.Exists(cgroupFile) ? File.ReadAllLines(cgroupFile) : [];
            return ReadV2(groups, root) ?? ReadV1(groups, root);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ContainerInfo? ReadV2(string[] groups, string root)
    {
        var path = groups.FirstOrDefault(line => line.StartsWith("0::", StringComparison.Ordinal))?[3..];
        foreach (var directory in Candidates(root, path))
        {
            var max = Path.Combine(directory, "memory.max");
            if (File.Exists(max))
            {
                var limitText = File.ReadAllText(max).Trim();
                var limit = limitText == "max" ? null : ParseOrNull(limitText);
                var usage = ReadNumber(Path.Combine(directory, "memory.current"));
                var stat = Path.Combine(directory, "memory.stat");
                return new ContainerInfo(2, limit, usage, WorkingSet(usage, stat, "inactive_file"), StatValue(stat, "file"));
            }
        }

        return null;
    }

    private static ContainerInfo? ReadV1(string[] groups, string root)
    {
        var path = groups.Select(line => line.Split(':', 3)).FirstOrDefault(parts => parts.Length == 3 && parts[1].Split(',').Contains("memory"))?[2];
        foreach (var directory in Candidates(Path.Combine(root, "memory"), path))
        {
            var limitFile = Path.Combine(directory, "memory.limit_in_bytes");
            if (File.Exists(limitFile))
            {
                var limit = ReadNumber(limitFile);
                var usage = ReadNumber(Path.Combine(directory, "memory.usage_in_bytes"));
                var stat = Path.Combine(directory, "memory.stat");
                return new ContainerInfo(1, limit is >= V1UnlimitedFloor ? null : limit, usage, WorkingSet(usage, stat, "total_inactive_file"), StatValue(stat, "total_cache"));
            }
        }

        return null;
    }

    /// <summary>
    /// Usage less the inactive page cache, as the kubelet counts a container's working set: the page cache of a
    /// dump just written is usage too, but the kernel drops it before it kills anything.
    /// </summary>
    /// <summary>
    /// Usage less the inactive page cache, as the kubelet counts a container's working set: the page cache of a
    /// dump just written is usage too, but the kernel drops it before it kills anything.
    /// </summary>
    private static long? WorkingSet(long? usage, string statFile, string inactiveKey) =>
        usage is { } used && StatValue(statFile, inactiveKey) is { } inactive ? Math.Max(0, used - inactive) : usage;

    /// <summary>One value of the group's memory.stat, or null when the file or the key is missing.</summary>
    private static long? StatValue(string statFile, string key)
    {
        if (!File.Exists(statFile))
        {
            return null;
        }

        foreach (var line in File.ReadLines(statFile))
        {
            if (line.StartsWith(key + " ", StringComparison.Ordinal))
            {
                return ParseOrNull(line[(key.Length + 1)..].Trim());
            }
        }

        return null;
    }

    private static IEnumerable<string> Candidates(string root, string? relative)
    {
        if (!string.IsNullOrEmpty(relative) && relative != "/")
        {
            yield return root + relative;
        }

        yield return root;
    }

    private static long? ReadNumber(string file) => File.Exists(file) ? ParseOrNull(File.ReadAllText(file).Trim()) : null;

    private static long? ParseOrNull(string text) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
