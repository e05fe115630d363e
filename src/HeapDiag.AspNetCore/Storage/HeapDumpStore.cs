using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// The dump directory. Files appear only complete: a dump is written under a <c>.tmp</c> name and renamed when
/// the writer has finished, so a crash leaves only <c>.tmp</c> files, which are never listed and are removed at
/// start. The store touches only files whose names it made (<c>heapdump-{id}…</c>), never anything else there.
/// </summary>
internal sealed partial class HeapDumpStore(IOptions<HeapDiagnosticsOptions> options, ILogger<HeapDumpStore> logger)
{
    // Dumps an analysis is reading, with how many analyses read each: retention passes over them.
    private readonly Dictionary<HeapDumpId, int> inAnalysis = [];

    private const string FilePrefix = "heapdump-";
    private const string DumpExtension = ".dmp";
    private const string DiagnosticsExtension = ".diagnostics.json";
    private const string TempExtension = ".tmp";
    private const string WorkspaceMarker = ".analysis-";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string DirectoryPath { get; } = Path.GetFullPath(options.Value.Storage.Directory);

    public string DumpPath(HeapDumpId id) => Path.Combine(DirectoryPath, $"{FilePrefix}{id}{DumpExtension}");

    public string DiagnosticsPath(HeapDumpId id) => Path.Combine(DirectoryPath, $"{FilePrefix}{id}{DiagnosticsExtension}");

    public string TempDumpPath(HeapDumpId id) => DumpPath(id) + TempExtension;

    /// <summary>Where an analysis result of a dump is kept, beside the dump: <c>heapdump-{id}.{name}.json</c>.</summary>
    public string AnalysisResultPath(HeapDumpId id, string name) => Path.Combine(DirectoryPath, $"{FilePrefix}{id}.{name}.json");

    /// <summary>
    /// A new, empty, owner-only directory inside the dump directory where the analyzer process writes its results and
    /// its scratch files (same file system as the dump, so results are committed by a rename). Deleted with everything
    /// in it when disposed; one left by a crash is removed at start.
    /// </summary>
    public AnalysisWorkspace CreateAnalysisWorkspace(HeapDumpId id)
    {
        var path = Path.Combine(DirectoryPath, $"{FilePrefix}{id}{WorkspaceMarker}{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyDirectory);
        }

        return new AnalysisWorkspace(path, this);
    }

    /// <summary>Writes an analysis result beside its dump, completely or not at all.</summary>
    public void WriteAnalysisResult(HeapDumpId id, string name, byte[] content) => WriteAtomically(AnalysisResultPath(id, name), content);

    /// <summary>Publishes a result file the analyzer wrote in a workspace as the dump's result <paramref name="name"/>.</summary>
    public void CommitAnalysisResult(HeapDumpId id, string name, string producedFile)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(producedFile, OwnerOnlyFile);
        }

        File.Move(producedFile, AnalysisResultPath(id, name), overwrite: true);
    }

    /// <summary>Keeps retention away from the dump until the returned lease is disposed: an analysis is reading it.</summary>
    public IDisposable LeaseForAnalysis(HeapDumpId id)
    {
        lock (inAnalysis)
        {
            inAnalysis[id] = inAnalysis.GetValueOrDefault(id) + 1;
        }

        return new AnalysisLease(this, id);
    }

    /// <summary>The diagnostics written with a dump, or null when there are none (or they cannot be read).</summary>
    public byte[]? TryReadDiagnostics(HeapDumpId id)
    {
        try
        {
            return File.Exists(DiagnosticsPath(id)) ? File.ReadAllBytes(DiagnosticsPath(id)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogReadFailed(logger, DiagnosticsPath(id), ex);
            return null;
        }
    }

    /// <summary>Creates the directory (0700 on Unix) if needed and proves it writable. Returns the problem, or null.</summary>
    public string? EnsureWritable()
    {
        try
        {
            if (!Directory.Exists(DirectoryPath))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(DirectoryPath);
                }
                else
                {
                    Directory.CreateDirectory(DirectoryPath, OwnerOnlyDirectory);
                }
            }

            var probe = Path.Combine(DirectoryPath, $".{FilePrefix}probe-{Environment.ProcessId}{TempExtension}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return $"The dump directory '{DirectoryPath}' is not writable: {ex.Message}";
        }
    }

    /// <summary>Free bytes on the directory's file system, or null when it cannot be told (the directory is missing).</summary>
    public long? FreeBytes()
    {
        try
        {
            return Directory.Exists(DirectoryPath) ? new DriveInfo(DirectoryPath).AvailableFreeSpace : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Writes a small file completely or not at all: temp name, flush, rename.</summary>
    public void WriteDiagnostics(HeapDumpId id, byte[] content) => WriteAtomically(DiagnosticsPath(id), content);

    private void WriteAtomically(string target, byte[] content)
    {
        var temp = target + TempExtension;
        try
        {
            using (var stream = new FileStream(temp, CreateOptions()))
            {
                // No fsync: the write only has to survive the process crashing during the dump, which the page
                // cache already ensures; an fsync here waited behind the previous dump's gigabyte of dirty pages.
                stream.Write(content);
            }

            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// The temp path the writer creates the dump at, cleared of any stale file. The file is not created here: on
    /// ext4, closing a file that was truncated and rewritten starts writing all of it out (auto_da_alloc), which
    /// cost up to 1.4 s per 1.2 GB dump. createdump creates it owner-only itself, inside the owner-only directory.
    /// </summary>
    public string PrepareTempDump(HeapDumpId id)
    {
        var temp = TempDumpPath(id);
        TryDelete(temp);
        return temp;
    }

    /// <summary>Creates the temp file for a dump HeapDiag writes itself (a copy fetched from a bucket), owner-only.</summary>
    public FileStream CreateTempDumpFile(HeapDumpId id, int bufferSize)
    {
        var create = CreateOptions();
        create.BufferSize = bufferSize;
        create.Options = FileOptions.Asynchronous;
        return new FileStream(PrepareTempDump(id), create);
    }

    /// <summary>Publishes a finished dump under its final name.</summary>
    public StoredHeapDump Commit(HeapDumpId id)
    {
        var final = DumpPath(id);
        if (!OperatingSystem.IsWindows())
        {
            // Whatever mode the writer chose, a published dump is owner-only.
            File.SetUnixFileMode(TempDumpPath(id), OwnerOnlyFile);
        }

        File.Move(TempDumpPath(id), final);
        return Find(id) ?? throw new IOException($"The dump '{final}' vanished right after it was written.");
    }

    public void DiscardTemp(HeapDumpId id) => TryDelete(TempDumpPath(id));

    public IReadOnlyList<StoredHeapDump> List()
    {
        if (!Directory.Exists(DirectoryPath))
        {
            return [];
        }

        var dumps = new List<StoredHeapDump>();
        foreach (var path in Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}*{DumpExtension}"))
        {
            var name = Path.GetFileName(path);
            if (HeapDumpId.TryParse(name[FilePrefix.Length..^DumpExtension.Length], out var id) && ToStored(id) is { } stored)
            {
                dumps.Add(stored);
            }
        }

        return [.. dumps.OrderByDescending(dump => dump.Id.CreatedUtc)];
    }

    public StoredHeapDump? Find(HeapDumpId id) => ToStored(id);

    /// <summary>
    /// Deletes a dump with everything written beside it (diagnostics, cached analyses). Returns false when there was
    /// no such dump. The id was parsed by the strict pattern, so the file name pattern cannot reach other files.
    /// </summary>
    public bool Delete(HeapDumpId id)
    {
        var existed = File.Exists(DumpPath(id)) || File.Exists(DiagnosticsPath(id));
        if (Directory.Exists(DirectoryPath))
        {
            foreach (var path in Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}{id}.*"))
            {
                TryDelete(path);
            }
        }

        return existed;
    }

    /// <summary>Removes what a crashed capture left behind. Called at start, before any capture can run.</summary>
    public int RemoveLeftovers()
    {
        if (!Directory.Exists(DirectoryPath))
        {
            return 0;
        }

        var removed = 0;
        foreach (var path in Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}*{TempExtension}"))
        {
            if (TryDelete(path))
            {
                removed++;
            }
        }

        foreach (var workspace in Directory.EnumerateDirectories(DirectoryPath, $"{FilePrefix}*{WorkspaceMarker}*"))
        {
            if (TryDeleteDirectory(workspace))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>
    /// Deletes the oldest dumps beyond <c>Storage:MaxDumps</c> and <c>Storage:MaxTotalBytes</c>. The newest dump is
    /// always kept, even when it alone is larger than the byte limit: deleting what was just captured helps nobody.
    /// Diagnostics of failed captures (no dump beside them) are kept to the same count.
    /// </summary>
    public IReadOnlyList<HeapDumpId> ApplyRetention()
    {
        var storage = options.Value.Storage;
        var deleted = new List<HeapDumpId>();
        var kept = 0;
        long keptBytes = 0;
        foreach (var dump in List())
        {
            if (IsInAnalysis(dump.Id))
            {
                // Counted as kept: deleting a file an analysis is reading would fail it halfway.
                kept++;
                keptBytes += dump.SizeBytes;
                continue;
            }

            var overCount = kept >= storage.MaxDumps;
            var overBytes = kept > 0 && storage.MaxTotalBytes is { } maxBytes && keptBytes + dump.SizeBytes > maxBytes;
            if (overCount || overBytes)
            {
                Delete(dump.Id);
                deleted.Add(dump.Id);
                LogRetentionDeleted(logger, dump.Id.ToString(), dump.SizeBytes);
            }
            else
            {
                kept++;
                keptBytes += dump.SizeBytes;
            }
        }

        foreach (var orphan in OrphanDiagnostics().Skip(storage.MaxDumps))
        {
            Delete(orphan);
        }

        return deleted;
    }

    private IEnumerable<HeapDumpId> OrphanDiagnostics()
    {
        var ids = new List<HeapDumpId>();
        foreach (var path in Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}*{DiagnosticsExtension}"))
        {
            var name = Path.GetFileName(path);
            if (HeapDumpId.TryParse(name[FilePrefix.Length..^DiagnosticsExtension.Length], out var id) && !File.Exists(DumpPath(id)))
            {
                ids.Add(id);
            }
        }

        return ids.OrderByDescending(id => id.CreatedUtc);
    }

    private bool IsInAnalysis(HeapDumpId id)
    {
        lock (inAnalysis)
        {
            return inAnalysis.ContainsKey(id);
        }
    }

    private void EndAnalysis(HeapDumpId id)
    {
        lock (inAnalysis)
        {
            if (inAnalysis.GetValueOrDefault(id) <= 1)
            {
                inAnalysis.Remove(id);
            }
            else
            {
                inAnalysis[id]--;
            }
        }
    }

    internal bool TryDeleteDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path))
            {
                return false;
            }

            Directory.Delete(path, recursive: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogDeleteFailed(logger, path, ex);
            return false;
        }
    }

    private StoredHeapDump? ToStored(HeapDumpId id)
    {
        var file = new FileInfo(DumpPath(id));
        if (!file.Exists)
        {
            return null;
        }

        var diagnostics = DiagnosticsPath(id);
        return new StoredHeapDump(id, file.Length, file.FullName, File.Exists(diagnostics) ? diagnostics : null);
    }

    private static FileStreamOptions CreateOptions()
    {
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = OwnerOnlyFile;
        }

        return create;
    }

    private bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }

            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogDeleteFailed(logger, path, ex);
            return false;
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Retention deleted heap dump {DumpId} ({SizeBytes} bytes)")]
    private static partial void LogRetentionDeleted(ILogger logger, string dumpId, long sizeBytes);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Could not delete {Path}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Could not read {Path}")]
    private static partial void LogReadFailed(ILogger logger, string path, Exception exception);

    /// <summary>Ends an analysis's hold on a dump.</summary>
    private sealed class AnalysisLease(HeapDumpStore store, HeapDumpId id) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                store.EndAnalysis(id);
            }
        }
    }
}
