using System.Globalization;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>The analyzer's memory budget and how it was arrived at.</summary>
/// <param name="Bytes">The budget; the analyzer runs with it as its limit.</param>
/// <param name="Explanation">Where the number comes from, for the log, capabilities and errors.</param>
internal sealed record MemoryBudget(long Bytes, string Explanation);

/// <summary>
/// How much memory the analyzer may use: <c>Analysis:MaxMemoryBytes</c> when set; otherwise what is left below the
/// container's memory limit (or, outside a container, the memory the GC sees) after what the app and the rest of the
/// container use now, minus a safety margin, and at most 1 GiB. Computed at every start of the analyzer: the app's
/// usage moves, and is highest right after an automatic dump.
/// </summary>
internal sealed class AnalysisBudget(IOptions<HeapAnalysisOptions> options)
{
    /// <summary>The most the analyzer gets unless configured otherwise.</summary>
    public const long DefaultCap = 1L << 30;

    /// <summary>Kept free below the limit for the app's own swings: 64 MiB, or 5 % of a larger limit.</summary>
    private const long MinimumMargin = 64L << 20;

    public MemoryBudget Compute()
    {
        if (options.Value.MaxMemoryBytes is { } configured)
        {
            return new MemoryBudget(configured, Format($"HeapDiagnostics:Analysis:MaxMemoryBytes is {configured:N0} bytes"));
        }

        var container = CgroupMemory.Read();
        (var limit, var used, var what) = container is { MemoryLimitBytes: { } containerLimit }
            ? (containerLimit, InUse(container), "the container's memory limit")
            : (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, Environment.WorkingSet, "the memory the GC sees");
        var margin = Math.Max(MinimumMargin, limit / 20);
        var left = Math.Max(0, limit - used - margin);
        var bytes = Math.Min(left, DefaultCap);
        return new MemoryBudget(bytes, Format(
            $"{bytes:N0} bytes: {limit:N0} bytes ({what}) less {used:N0} in use and a {margin:N0}-byte margin{(left > DefaultCap ? ", at most 1 GiB" : string.Empty)}"));
    }

    /// <remarks>
    /// The group's page cache is left out, active or not: the analyzer reads the dump and its scratch arrays through
    /// memory-mapped files, so the dump just written (which the digest follower read, making its pages active) is
    /// page cache the kernel reclaims for the analyzer before it kills anything. Counting it as in use left a
    /// 1 GiB container with too small a budget right after its automatic dump.
    /// </remarks>
    private static long InUse(ContainerInfo container) =>
        container is { MemoryUsageBytes: { } usage, PageCacheBytes: { } cache } ? Math.Max(0, usage - cache)
            : container.MemoryWorkingSetBytes ?? container.MemoryUsageBytes ?? Environment.WorkingSet;

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
