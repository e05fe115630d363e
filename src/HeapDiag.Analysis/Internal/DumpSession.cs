using System.Globalization;
using Microsoft.Diagnostics.Runtime;
using Microsoft.Diagnostics.Runtime.AbstractDac;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// One open dump, in ClrMD's order: <see cref="DataTarget"/> → <see cref="ClrRuntime"/> → <see cref="ClrHeap"/>, plus
/// the cached reader and object layout the passes share. Every way the file can fail to open becomes a
/// <see cref="HeapDumpFormatException"/> with a one-line reason.
/// </summary>
internal sealed class DumpSession : IDisposable
{
    private readonly DataTarget _dataTarget;
    private readonly ClrRuntime _runtime;

    private readonly MappedDump? _mapped;

    // Set when a thread was left inside ClrMD, stuck on a damaged dump (see ReaderStallGuard).
    private volatile bool _abandoned;

    private DumpSession(string dumpPath, DataTarget dataTarget, ClrRuntime runtime, string? dacPath, int cacheBytes, TimeProvider time)
    {
        _dataTarget = dataTarget;
        _runtime = runtime;
        DacPath = dacPath;
        Time = time;
        _mapped = MappedDump.TryOpen(dumpPath);
        FileName = Path.GetFileName(dumpPath);
        FileBytes = new FileInfo(dumpPath).Length;
        ClrVersion = DescribeVersion(dataTarget, runtime.ClrInfo);
        PointerSize = dataTarget.DataReader.PointerSize;
        Memory = new HeapMemory(dataTarget.DataReader, _mapped, PointerSize, cacheBytes);
        Objects = new HeapObjects(runtime.Heap, Memory);
        Segments = [.. runtime.Heap.Segments.Where(s => s.End > s.Start).OrderBy(s => s.Start)];
    }

    public string FileName { get; }

    public long FileBytes { get; }

    public string ClrVersion { get; }

    public int PointerSize { get; }

    /// <summary>Whether ClrMD's own reads (heap walk) may run on another thread while <see cref="Memory"/> reads.</summary>
    public bool CanReadConcurrently => _runtime.IsThreadSafe && _dataTarget.DataReader.IsThreadSafe;

    public ClrRuntime Runtime => _runtime;

    public ClrHeap Heap => _runtime.Heap;

    public HeapMemory Memory { get; }

    /// <summary>The dump file mapped into memory, when it could be (a 64-bit ELF core); safe to read from any thread.</summary>
    public MappedDump? Mapped => _mapped;

    public HeapObjects Objects { get; }

    /// <summary>What bounds the reads that a damaged dump can make endless (<see cref="ReaderStallGuard"/>).</summary>
    public TimeProvider Time { get; }

    /// <summary>The data access library beside the dumped runtime, when it exists here; <see cref="EnumerateHandles"/> loads it again.</summary>
    public string? DacPath { get; }

    /// <summary>The GC heap's segments (regions) that hold objects, by start address.</summary>
    public IReadOnlyList<ClrSegment> Segments { get; }

    /// <summary>A bitmap with one bit per possible object of the heap, all clear.</summary>
    public ObjectBitmap CreateObjectBitmap() => new(Segments.Select(s => (s.Start, s.End)));

    /// <summary>Opens a dump with <paramref name="cacheBytes"/> of cached dump pages (32 MiB: the mark pass over a 1 GB heap rarely reads a page twice).</summary>
    public static DumpSession Open(string dumpPath, int cacheBytes = 32 << 20, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dumpPath);
        DumpFileCheck.ThrowIfUnusable(dumpPath);

        DataTarget dataTarget;
        try
        {
            dataTarget = DataTarget.LoadDump(dumpPath, new DataTargetOptions { UseLockFreeMemoryMapReader = true });
        }
        catch (Exception ex) when (IsReadFailure(ex))
        {
            throw new HeapDumpFormatException($"corrupt: {FirstLine(ex.Message)}", ex);
        }

        try
        {
            if (dataTarget.ClrVersions.IsDefaultOrEmpty)
            {
                throw new HeapDumpFormatException("not a .NET dump: no CLR runtime found");
            }

            var clr = dataTarget.ClrVersions[0];
            ClrRuntime runtime;
            string? dacPath;
            try
            {
                runtime = CreateRuntime(clr, out dacPath);
            }
            catch (Exception ex) when (IsReadFailure(ex) || ex is FileNotFoundException or DllNotFoundException or ClrDiagnosticsException)
            {
                throw new HeapDumpFormatException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"cannot read the .NET {clr.Version} runtime in the dump (its data access library, libmscordaccore, must match that exact version): {FirstLine(ex.Message)}"), ex);
            }

            return new DumpSession(dumpPath, dataTarget, runtime, dacPath, cacheBytes, time ?? TimeProvider.System);
        }
        catch
        {
            dataTarget.Dispose();
            throw;
        }
    }

    /// <summary>The GC generation an object belongs to, named as in <see cref="GenerationStats.Generation"/>.</summary>
    public static string GenerationOf(ClrSegment segment, ulong address) => segment.Kind switch
    {
        GCSegmentKind.Generation0 => "gen0",
        GCSegmentKind.Generation1 => "gen1",
        GCSegmentKind.Generation2 => "gen2",
        GCSegmentKind.Large => "loh",
        GCSegmentKind.Pinned => "poh",
        GCSegmentKind.Frozen => "frozen",

        // Without regions (segments mode, or a runtime before .NET 7) one ephemeral segment holds gen0, gen1 and part of gen2.
        _ => segment.GetGeneration(address) switch
        {
            Generation.Generation0 => "gen0",
            Generation.Generation1 => "gen1",
            Generation.Large => "loh",
            Generation.Pinned => "poh",
            Generation.Frozen => "frozen",
            _ => "gen2",
        },
    };

    /// <summary>
    /// A thread was left reading through ClrMD (it never returned on a damaged dump): ClrMD's objects are then not
    /// disposed, because that thread still uses them; they go with the process.
    /// </summary>
    public void Abandon() => _abandoned = true;

    /// <summary>Whether <see cref="Abandon"/> was called: then <see cref="Dispose"/> leaves ClrMD's objects alone.</summary>
    public bool Abandoned => _abandoned;

    public void Dispose()
    {
        _mapped?.Dispose();
        if (!_abandoned)
        {
            _runtime.Dispose();
            _dataTarget.Dispose();
        }
    }

    /// <summary>
    /// The runtime's version. ClrMD cannot always read it from an ELF <c>libcoreclr.so</c> (it reports 0.0); the
    /// shared-framework directory the runtime was loaded from is named after the version, and CoreLib's file version
    /// is a last resort.
    /// </summary>
    private static string DescribeVersion(DataTarget dataTarget, ClrInfo clr)
    {
        if (clr.Version.Major > 0)
        {
            return clr.Version.ToString();
        }

        var directory = Path.GetFileName(Path.GetDirectoryName(clr.ModuleInfo.FileName));
        if (Version.TryParse(directory, out var fromPath) && fromPath.Major > 0)
        {
            return directory!;
        }

        var coreLib = dataTarget.EnumerateModules()
            .Where(m => m.FileName.EndsWith("System.Private.CoreLib.dll", StringComparison.OrdinalIgnoreCase))
            .Select(m => m.Version)
            .FirstOrDefault(v => v.Major > 0);
        return coreLib?.ToString() ?? "unknown";
    }

    /// <summary>
    /// The GC handles of <paramref name="kinds"/> (every one when null), as the data access library lists them. When the
    /// library's file is known, a second instance of it reads them (<see cref="DacHandleEnumerator"/>), skipping the
    /// kinds not asked for: <see cref="ClrRuntime.EnumerateHandles"/> reads every handle, wraps each in an object,
    /// resolves its target's type and keeps them all as long as the runtime lives, which for the 900,000 handles of a
    /// 60 M-object heap (most of them weak handles no pass follows) was 180 MB of the analysis's memory and 2–4 s.
    /// </summary>
    public IReadOnlyList<ClrHandleInfo> EnumerateHandles(IReadOnlyCollection<ClrHandleKind>? kinds = null)
    {
        if (DacPath is not null)
        {
            var services = DataTarget.CreateDacServices(_runtime.ClrInfo, DacPath);
            try
            {
                var runtime = (IAbstractRuntime?)services.GetService(typeof(IAbstractRuntime))
                    ?? throw new InvalidOperationException("ClrMD's data access services have no runtime.");

                // The library lists them all before it returns, so its instance can go right away.
                if (DacHandleEnumerator.TryEnumerate(runtime, _dataTarget.DataReader, kinds) is { } handles)
                {
                    return handles;
                }
            }
            finally
            {
                (services as IDisposable)?.Dispose();
            }
        }

        // Without a known file (ClrMD found its library elsewhere) or a way into it, ClrMD's own list.
        return ClrMDHandles(kinds);
    }

    /// <summary>ClrMD's list of every handle, those of <paramref name="kinds"/> (every one when null) kept: what <see cref="EnumerateHandles"/> falls back to.</summary>
    internal IReadOnlyList<ClrHandleInfo> ClrMDHandles(IReadOnlyCollection<ClrHandleKind>? kinds) =>
        _runtime.EnumerateHandles()
            .Where(handle => kinds is null || kinds.Contains(handle.HandleKind))
            .Select(handle => new ClrHandleInfo
            {
                Address = handle.Address,
                Object = handle.Object.Address,
                Kind = handle.HandleKind,
                DependentTarget = handle.Dependent.Address,
                RefCount = handle.ReferenceCount,
            })
            .ToList();

    /// <summary>The runtime, read with the data access library ClrMD finds for it or else with the one beside the dumped runtime.</summary>
    internal static ClrRuntime CreateRuntime(ClrInfo clr) => CreateRuntime(clr, out _);

    /// <summary>
    /// The runtime, read with the data access library ClrMD finds for it, or else with the one beside the dumped
    /// process's <c>libcoreclr.so</c> when that path exists here: ClrMD cannot read the version of an ELF runtime (it
    /// reports 0.0) and then finds no library to match, but the analyzer runs beside the app it analyses, where the
    /// runtime directory (named after its exact version) is the one the app loaded. The check of the version is skipped
    /// because the 0.0 it would compare against is the unreadable one.
    /// </summary>
    /// <param name="clr">The runtime in the dump.</param>
    /// <param name="dacPath">The library beside the dumped runtime, when it exists here (then the runtime's own); else null.</param>
    internal static ClrRuntime CreateRuntime(ClrInfo clr, out string? dacPath)
    {
        dacPath = Path.GetDirectoryName(clr.ModuleInfo.FileName) is { Length: > 0 } directory
            && Path.Combine(directory, "libmscordaccore.so") is var besideRuntime
            && File.Exists(besideRuntime) ? besideRuntime : null;
        try
        {
            return clr.CreateRuntime();
        }
        catch (Exception ex) when (ex is FileNotFoundException or ClrDiagnosticsException && dacPath is not null)
        {
            return clr.CreateRuntime(dacPath, ignoreMismatch: true);
        }
    }

    private static bool IsReadFailure(Exception ex) =>
        ex is InvalidDataException or IOException or NotSupportedException or InvalidOperationException
            or ArgumentException or OverflowException or IndexOutOfRangeException or EndOfStreamException
            or ClrDiagnosticsException;

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
