using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// The one owner of the dumps: the directory (this file) and, with <c>Egress:Provider=S3</c> or <c>AzureBlob</c>, the bucket (HeapDumpStore.Bucket.cs).
/// Files appear only complete (written as <c>.tmp</c>, renamed when finished; leftovers removed at start), only names the store
/// made are touched, and <c>heapdump-{id}.sha256</c> beside each dump holds its digest in <c>sha256sum -c</c> format.
/// </summary>
internal sealed partial class HeapDumpStore(
    IOptions<HeapDumpStorageOptions> options, TimeProvider time, ILogger<HeapDumpStore> logger, IDumpBucket? bucket = null, IHostApplicationLifetime? lifetime = null, DumpActivity? activity = null)
    : IDisposable
{
    private const string FilePrefix = HeapDumpId.FilePrefix;
    private const string DumpExtension = HeapDumpId.DumpExtension;
    private const string DiagnosticsExtension = ".diagnostics.json";
    private const string TempExtension = ".tmp";
    private const string WorkspaceMarker = ".analysis-";
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // One entry per analysis reading a dump: retention passes over those dumps.
    private readonly ConcurrentDictionary<Guid, HeapDumpId> _inAnalysis = new();

    private readonly DumpDigestCheck _digests = new(time, logger);

    public string DirectoryPath { get; } = Path.GetFullPath(options.Value.Directory);

    public string DumpPath(HeapDumpId id) => FilePath(id, DumpExtension);

    public string DiagnosticsPath(HeapDumpId id) => FilePath(id, DiagnosticsExtension);

    /// <summary>Where an analysis result of a dump is kept, beside the dump: <c>heapdump-{id}.{name}.json</c>.</summary>
    public string AnalysisResultPath(HeapDumpId id, string name) => FilePath(id, $".{name}.json");

    /// <summary>An owner-only directory beside the dumps for one analyzer run (results are committed by a rename); deleted on dispose.</summary>
    public AnalysisWorkspace CreateAnalysisWorkspace(HeapDumpId id) => new(CreateDirectory(FilePath(id, $"{WorkspaceMarker}{Guid.NewGuid():N}")), this);

    /// <summary>An owner-only directory beside the dumps for one allocation sampling run (no dump of its own); deleted on dispose, and at start if a crash left it.</summary>
    public AnalysisWorkspace CreateSamplingWorkspace() => new(CreateDirectory(Path.Combine(DirectoryPath, $"{FilePrefix}sampling{WorkspaceMarker}{Guid.NewGuid():N}")), this);

    /// <summary>Writes an analysis result beside its dump, completely or not at all.</summary>
    public void WriteAnalysisResult(HeapDumpId id, string name, byte[] content) => WriteAtomically(AnalysisResultPath(id, name), content);

    /// <summary>Publishes a result file the analyzer wrote in a workspace as the dump's result <paramref name="name"/>.</summary>
    public void CommitAnalysisResult(HeapDumpId id, string name, string producedFile)
    {
        MakeOwnerOnly(producedFile);
        File.Move(producedFile, AnalysisResultPath(id, name), overwrite: true);
    }

    /// <summary>
    /// Null when the local dump at <paramref name="dumpPath"/> still matches the SHA-256 recorded for it (or none was
    /// recorded); otherwise why it cannot be trusted. Hashes at disk speed once per dump, then a stat while it is unchanged.
    /// </summary>
    public Task<string?> VerifyAsync(string dumpPath, string? sha256, CancellationToken cancellationToken) => _digests.CheckAsync(dumpPath, sha256, cancellationToken);

    /// <summary>Keeps retention away from the dump until the returned lease is disposed: an analysis is reading it.</summary>
    public IDisposable LeaseForAnalysis(HeapDumpId id)
    {
        var lease = Guid.NewGuid();
        _inAnalysis[lease] = id;
        return new Release(() => _inAnalysis.TryRemove(lease, out _));
    }

    /// <summary>The diagnostics written with a dump, or null when there are none here (or they cannot be read).</summary>
    public byte[]? TryReadDiagnostics(HeapDumpId id) => TryRead(DiagnosticsPath(id));

    /// <summary>Writes a dump's diagnostics atomically; with the bucket tier, also copies them there in the background (a later leak report must reach it).</summary>
    public void WriteDiagnostics(HeapDumpId id, byte[] content)
    {
        WriteAtomically(DiagnosticsPath(id), content);
        if (bucket is not null && File.Exists(DumpPath(id)))
        {
            _ = SyncDiagnosticsAsync(id);
        }
    }

    /// <summary>Creates the directory (0700 on Unix) if needed and proves it writable. Returns the problem, or null.</summary>
    public string? EnsureWritable()
    {
        try
        {
            var probe = Path.Combine(CreateDirectory(DirectoryPath), $".{FilePrefix}probe-{Environment.ProcessId}{TempExtension}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return $"The dump directory '{DirectoryPath}' is not writable: {ex.Message}";
        }
    }

    /// <summary>
    /// Whether the directory can take about <paramref name="neededBytes"/> more, for <paramref name="what"/>, and still
    /// keep <c>Storage:ReserveBytes</c> free: null when it can; otherwise whether it is writable at all, and why not.
    /// </summary>
    public StorageShortfall? CheckRoom(long neededBytes, string what)
    {
        if (EnsureWritable() is { } notWritable)
        {
            return new StorageShortfall(false, notWritable);
        }

        var reserve = options.Value.ReserveBytes;
        return FreeBytes() is { } free && free < neededBytes + reserve
            ? new StorageShortfall(true, $"{free:N0} bytes are free in '{DirectoryPath}'; {what} needs about {neededBytes:N0} bytes plus the {reserve:N0}-byte reserve (Storage:ReserveBytes).")
            : null;
    }

    /// <summary>Free bytes on the directory's file system, or null when it cannot be told (the directory is missing).</summary>
    public long? FreeBytes() => IfFails(() => Directory.Exists(DirectoryPath) ? new DriveInfo(DirectoryPath).AvailableFreeSpace : (long?)null, null);

    /// <summary>
    /// The temp path the writer creates the dump at, cleared of stale files. Not created here: on ext4, closing a truncated
    /// and rewritten file writes all of it out (auto_da_alloc), up to 1.4 s per 1.2 GB; createdump creates it owner-only.
    /// </summary>
    public string PrepareTempDump(HeapDumpId id)
    {
        DiscardTemp(id);
        return TempDumpPath(id);
    }

    public void DiscardTemp(HeapDumpId id)
    {
        TryDelete(TempDumpPath(id));
        TryDelete(PackedTempPath(id));
    }

    /// <summary>The dumps on this instance's disk, newest first.</summary>
    public IReadOnlyList<StoredHeapDump> List() =>
        [.. Ids(DumpExtension).Select(Find).OfType<StoredHeapDump>().OrderByDescending(dump => dump.Id.CreatedUtc)];

    public StoredHeapDump? Find(HeapDumpId id)
    {
        var file = new FileInfo(DumpPath(id));
        return file.Exists ? new StoredHeapDump(id, file.Length, file.FullName, File.Exists(DiagnosticsPath(id)) ? DiagnosticsPath(id) : null, ReadDigest(id)) : null;
    }

    /// <summary>Deletes a local dump and everything beside it; false when there was neither dump nor diagnostics (ids are strict: nothing else matches).</summary>
    public bool Delete(HeapDumpId id)
    {
        var existed = File.Exists(DumpPath(id)) || File.Exists(DiagnosticsPath(id));
        _digests.Forget(DumpPath(id));
        foreach (var path in Directory.Exists(DirectoryPath) ? Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}{id}.*") : [])
        {
            TryDelete(path);
        }

        return existed;
    }

    /// <summary>Removes what a crash left: <c>.tmp</c> files and analysis workspaces. Called at start, before any capture.</summary>
    public int RemoveLeftovers() => !Directory.Exists(DirectoryPath) ? 0 : Directory.EnumerateFileSystemEntries(DirectoryPath, $"{FilePrefix}*")
        .Where(path => Directory.Exists(path) ? Path.GetFileName(path).Contains(WorkspaceMarker, StringComparison.Ordinal) : path.EndsWith(TempExtension, StringComparison.Ordinal))
        .ToList().Count(TryDelete);

    /// <summary>
    /// Deletes the oldest local dumps beyond <c>Storage:MaxDumps</c> and <c>Storage:MaxTotalBytes</c>, always keeping the newest.
    /// A dump an analysis is reading counts as kept and is never deleted. Failed captures' diagnostics are kept to the same count.
    /// </summary>
    public IReadOnlyList<HeapDumpId> ApplyRetention()
    {
        var storage = options.Value;
        var (deleted, kept, keptBytes, limitReached) = (new List<HeapDumpId>(), 0, 0L, false);
        foreach (var dump in List())
        {
            // Newest first: once one dump does not fit, every older one goes too, so what is kept is always the newest.
            limitReached |= kept >= storage.MaxDumps || (kept > 0 && keptBytes + dump.SizeBytes > storage.MaxTotalBytes);
            if (limitReached && !_inAnalysis.Values.Contains(dump.Id))
            {
                Delete(dump.Id);
                deleted.Add(dump.Id);
                LogRetentionDeleted(logger, dump.Id.ToString(), dump.SizeBytes);
            }
            else
            {
                (kept, keptBytes) = (kept + 1, keptBytes + dump.SizeBytes);
            }
        }

        foreach (var orphan in Ids(DiagnosticsExtension).Where(id => !File.Exists(DumpPath(id))).OrderByDescending(id => id.CreatedUtc).Skip(storage.MaxDumps))
        {
            Delete(orphan);
        }

        return deleted;
    }

    /// <summary>Deletes a file, or a directory with everything in it; false when there was none or it could not be deleted (logged).</summary>
    internal bool TryDelete(string path) => IfFails(
        () =>
        {
            var existed = File.Exists(path);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
                return true;
            }

            File.Delete(path);
            return existed;
        },
        false,
        path);

    private string FilePath(HeapDumpId id, string suffix) => Path.Combine(DirectoryPath, $"{FilePrefix}{id}{suffix}");

    private string TempDumpPath(HeapDumpId id) => DumpPath(id) + TempExtension;

    // The zstd form of a dump on its way to or from the bucket.
    private string PackedTempPath(HeapDumpId id) => DumpPath(id) + ".zst" + TempExtension;

    private string DigestPath(HeapDumpId id) => FilePath(id, ".sha256");

    private IEnumerable<HeapDumpId> Ids(string extension) =>
        (Directory.Exists(DirectoryPath) ? Directory.EnumerateFiles(DirectoryPath, $"{FilePrefix}*{extension}") : [])
        .Select(path => HeapDumpId.FromFileName(Path.GetFileName(path), extension))
        .OfType<HeapDumpId>();

    private string? ReadDigest(HeapDumpId id) => TryRead(DigestPath(id)) is { Length: >= 64 } line && Encoding.ASCII.GetString(line, 0, 64) is var hex && hex.All(char.IsAsciiHexDigitLower) ? hex : null;

    private void WriteDigest(HeapDumpId id, string sha256) => WriteAtomically(DigestPath(id), Encoding.ASCII.GetBytes($"{sha256}  {id.DumpFileName}\n"));

    // A dump deleted while it is read (retention, DELETE) is read to its end from the open handle: never a mix, nor cut short.
    private FileStream? TryOpen(string path) =>
        IfFails(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan), null);

    private byte[]? TryRead(string path) => IfFails(() => File.Exists(path) ? File.ReadAllBytes(path) : null, null, path);

    /// <summary>Writes a small file completely or not at all: temp name, write, rename.</summary>
    private void WriteAtomically(string target, byte[] content)
    {
        var temp = target + TempExtension;
        try
        {
            // No fsync: the write only has to survive the process crashing during the dump, which the page cache
            // already ensures; an fsync here waited behind the previous dump's gigabyte of dirty pages.
            using (var stream = new FileStream(temp, CreateOptions()))
            {
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

    /// <summary>What <paramref name="action"/> returns, or <paramref name="fallback"/> when the file system refuses (logged for <paramref name="path"/>).</summary>
    private T IfFails<T>(Func<T> action, T fallback, string? path = null)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            if (path is not null)
            {
                LogFileFailed(logger, path, ex);
            }

            return fallback;
        }
    }

    private static string CreateDirectory(string path) =>
        (OperatingSystem.IsWindows() ? Directory.CreateDirectory(path) : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)).FullName;

    private static void MakeOwnerOnly(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, OwnerOnlyFile);
        }
    }

    private static FileStreamOptions CreateOptions() => OperatingSystem.IsWindows()
        ? new() { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous }
        : new() { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous, UnixCreateMode = OwnerOnlyFile };

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Retention deleted heap dump {DumpId} ({SizeBytes} bytes)")]
    private static partial void LogRetentionDeleted(ILogger logger, string dumpId, long sizeBytes);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Could not read or delete {Path}")]
    private static partial void LogFileFailed(ILogger logger, string path, Exception exception);

    /// <summary>Runs its action once, on the first dispose.</summary>
    private sealed class Release(Action release) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                release();
            }
        }
    }
}
