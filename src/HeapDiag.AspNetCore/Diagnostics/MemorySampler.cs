using System.Buffers.Text;
using Microsoft.Win32.SafeHandles;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>One reading of the three values the monitor can watch, plus the memory limit the GC sees.</summary>
internal readonly record struct MemorySample(
    DateTimeOffset Timestamp,
    long WorkingSetBytes,
    long GcHeapSizeBytes,
    long GcCommittedBytes,
    long TotalAvailableMemoryBytes)
{
    public long Value(MonitorMetric metric) => metric switch
    {
        MonitorMetric.GcHeapSize => GcHeapSizeBytes,
        MonitorMetric.GcCommitted => GcCommittedBytes,
        _ => WorkingSetBytes,
    };
}

/// <summary>
/// Reads the counters the kernel and the runtime already keep, cheaply enough to run every second unseen.
/// On Linux the resident set comes from /proc/self/statm, re-read through one handle into a stack buffer
/// (Environment.WorkingSet would build a Process object each time). The one allocation per sample is the
/// GCMemoryInfo object GC.GetGCMemoryInfo returns.
/// </summary>
internal sealed class RuntimeMemorySampler(TimeProvider timeProvider) : IMemorySampler, IDisposable
{
    private readonly Lazy<SafeFileHandle?> _statm = new(OpenStatm);

    public MemorySample Sample()
    {
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        return new MemorySample(timeProvider.GetUtcNow(), ReadWorkingSet(), gc.HeapSizeBytes, gc.TotalCommittedBytes, gc.TotalAvailableMemoryBytes);
    }

    public void Dispose()
    {
        if (_statm.IsValueCreated)
        {
            _statm.Value?.Dispose();
        }
    }

    private long ReadWorkingSet()
    {
        if (_statm.Value is { IsInvalid: false } handle)
        {
            // statm: "size resident shared text lib data dt", in pages; procfs regenerates it on every read at offset 0.
            Span<byte> buffer = stackalloc byte[256];
            var read = RandomAccess.Read(handle, buffer, 0);
            var text = buffer[..read];
            var space = text.IndexOf((byte)' ');
            if (space > 0 && Utf8Parser.TryParse(text[(space + 1)..], out long residentPages, out _))
            {
                return residentPages * Environment.SystemPageSize;
            }
        }

        return Environment.WorkingSet;
    }

    private static SafeFileHandle? OpenStatm()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.OpenHandle("/proc/self/statm") : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
