using System.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Egress;

/// <summary>A dump wherever it is held: on this instance's disk, in the bucket, or both.</summary>
internal sealed record HeapDumpEntry(HeapDumpId Id, StoredHeapDump? Local, RemoteHeapDump? Remote)
{
    public const string LocalLocation = "local";
    public const string RemoteLocation = "s3";
    public const string BothLocation = "both";

    /// <summary><c>local</c>, <c>s3</c> or <c>both</c>.</summary>
    public string Location => (Local, Remote) switch
    {
        (not null, not null) => BothLocation,
        (not null, null) => LocalLocation,
        _ => RemoteLocation,
    };

    public long SizeBytes => Local?.SizeBytes ?? Remote?.SizeBytes ?? 0;

    public bool HasDiagnostics => Local?.DiagnosticsPath is not null || Remote?.DiagnosticsKey is not null;
}

/// <summary>The dumps of both places, and why the bucket could not be listed (the local ones are listed regardless).</summary>
internal sealed record HeapDumpCatalog(IReadOnlyList<HeapDumpEntry> Dumps, string? RemoteError);

/// <summary>What a delete did.</summary>
internal sealed record HeapDumpDeletion(bool Found, string? RemoteError);

/// <summary>
/// Dumps held by either provider, for the capture service, the endpoints and analysis: ships a fresh dump, lists,
/// opens, deletes, and fetches a local copy of a dump that is only in the bucket. Remembers the last upload and the
/// last egress error for <c>/monitor</c>.
/// </summary>
internal sealed partial class HeapDumpEgressService(
    IHeapDumpEgressProvider provider,
    HeapDumpStore store,
    TimeProvider timeProvider,
    IOptions<HeapDiagnosticsOptions> options,
    ILogger<HeapDumpEgressService> logger,
    IHostApplicationLifetime? lifetime = null) : IDisposable
{
    private const int CopyBufferBytes = 1 << 20;

    // One download at a time: two analyses of the same remote dump must not both fetch 1.5 GB, and different dumps
    // fetched at once would only compete for the same disk and network.
    private readonly SemaphoreSlim downloads = new(1, 1);
    private readonly Lock stateLock = new();
    private DateTimeOffset? lastUploadAt;
    private string? lastUploadId;
    private HeapDumpEgressError? lastError;

    public string Provider => provider.Name;

    public bool IsRemote => provider.IsRemote;

    public string Target => provider.Target;

    /// <summary>
    /// Ships a committed dump. Never throws: a failure keeps the local files and comes back in the result, naming
    /// the endpoint, the bucket and the fix. Not cancelled by the caller (a client that hangs up must not leave the
    /// dump unshipped), only by the app shutting down.
    /// </summary>
    public async Task<HeapDumpEgressResult> UploadAsync(StoredHeapDump dump, HeapDumpUploadMetadata metadata)
    {
        if (!provider.IsRemote)
        {
            return new HeapDumpEgressResult(provider.Name, true, dump.DumpPath);
        }

        var started = Stopwatch.GetTimestamp();
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        var id = dump.Id.ToString();
        string error;
        var retries = 0;
        try
        {
            var (key, location, uploadRetries) = await provider.UploadAsync(dump, metadata, stopping);
            var elapsed = Stopwatch.GetElapsedTime(started);
            lock (stateLock)
            {
                lastUploadAt = timeProvider.GetUtcNow();
                lastUploadId = id;
            }

            LogUploaded(logger, id, dump.SizeBytes, location, elapsed.TotalMilliseconds, uploadRetries);
            var localDeleted = false;
            if (options.Value.Egress.S3.DeleteLocalAfterUpload)
            {
                // The store logs a file it could not delete; the result then says the local copy is still there.
                store.Delete(dump.Id);
                localDeleted = !File.Exists(dump.DumpPath);
                if (localDeleted)
                {
                    LogLocalDeleted(logger, id, dump.DumpPath);
                }
            }

            return new HeapDumpEgressResult(provider.Name, true, location, key, null, uploadRetries, elapsed.TotalMilliseconds, localDeleted);
        }
        catch (HeapDumpEgressException ex)
        {
            retries = ex.Retries;
            error = $"{ex.Message} The dump is kept at {dump.DumpPath}. {ex.Fix}";
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            error = $"The app is shutting down, so the upload to {provider.Target} was stopped. The dump is kept at {dump.DumpPath}.";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = $"Upload to {provider.Target} failed unexpectedly: {ex.Message}. The dump is kept at {dump.DumpPath}.";
        }

        RecordError(id, error);
        LogUploadFailed(logger, id, error);
        return new HeapDumpEgressResult(provider.Name, false, dump.DumpPath, null, error, retries, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Local and remote dumps merged by id, newest first. A bucket that cannot be listed leaves the local ones and an error.</summary>
    public async Task<HeapDumpCatalog> ListAsync(CancellationToken cancellationToken)
    {
        var local = store.List();
        IReadOnlyList<RemoteHeapDump> remote = [];
        string? remoteError = null;
        if (provider.IsRemote)
        {
            try
            {
                remote = await provider.ListAsync(cancellationToken);
            }
            catch (HeapDumpEgressException ex)
            {
                remoteError = $"{ex.Message} {ex.Fix}";
                RecordError(null, remoteError);
                LogRemoteFailed(logger, remoteError);
            }
        }

        var entries = new Dictionary<HeapDumpId, HeapDumpEntry>();
        foreach (var dump in local)
        {
            entries[dump.Id] = new HeapDumpEntry(dump.Id, dump, null);
        }

        foreach (var dump in remote)
        {
            // Two instances cannot write the same id (it holds the process id and the millisecond), but if a copy was
            // made by hand the newest listed one stands for it.
            if (!entries.TryGetValue(dump.Id, out var entry))
            {
                entries[dump.Id] = new HeapDumpEntry(dump.Id, null, dump);
            }
            else if (entry.Remote is null)
            {
                entries[dump.Id] = entry with { Remote = dump };
            }
        }

        return new HeapDumpCatalog([.. entries.Values.OrderByDescending(entry => entry.Id.CreatedUtc)], remoteError);
    }

    /// <summary>The dump in the bucket with this id, or null (also for the file system provider).</summary>
    public async Task<RemoteHeapDump?> FindRemoteAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        provider.IsRemote ? (await provider.ListAsync(cancellationToken)).FirstOrDefault(dump => dump.Id == id) : null;

    /// <summary>Opens a remote dump (or its diagnostics) for streaming to a client; null when the object is gone.</summary>
    public Task<RemoteObject?> OpenRemoteAsync(string key, RemoteRange? range, CancellationToken cancellationToken) =>
        provider.OpenAsync(key, range, cancellationToken);

    /// <summary>
    /// Deletes a dump everywhere. The local copy goes first: when the bucket is unreachable during an incident, the
    /// disk must still be freeable. A remote failure is returned (not thrown) so the caller can say what is left.
    /// </summary>
    public async Task<HeapDumpDeletion> DeleteAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        var found = store.Delete(id);
        if (!provider.IsRemote)
        {
            return new HeapDumpDeletion(found, null);
        }

        try
        {
            if (await FindRemoteAsync(id, cancellationToken) is { } remote)
            {
                await provider.DeleteAsync(remote, cancellationToken);
                found = true;
            }

            return new HeapDumpDeletion(found, null);
        }
        catch (HeapDumpEgressException ex)
        {
            var error = $"{(found ? "The local copy was deleted, but " : string.Empty)}{ex.Message} {ex.Fix}";
            RecordError(id.ToString(), error);
            LogRemoteFailed(logger, error);
            return new HeapDumpDeletion(found, error);
        }
    }

    /// <summary>
    /// Returns the path of a local copy of the dump, downloading it from the bucket first when it is held only
    /// there. Meant for analysis, which needs a file on disk (ClrMD maps it).
    /// <list type="bullet">
    /// <item>Held locally: returns its path at once, without touching the bucket.</item>
    /// <item>Only in the bucket: streams it (never buffered whole) to <c>heapdump-{id}.dmp.tmp</c> in
    /// <c>Storage:Directory</c> (owner-only, like every dump), checks its length, renames it to
    /// <c>heapdump-{id}.dmp</c> and fetches its diagnostics too. From then on it is an ordinary local dump:
    /// listed as <c>both</c>, served from disk, and deleted by retention (<c>Storage:MaxDumps</c>) like any other.
    /// Concurrent calls download once; an interrupted download leaves only a <c>.tmp</c>, removed at the next start.</item>
    /// <item>Nowhere: returns null.</item>
    /// </list>
    /// Throws <see cref="HeapDumpEgressException"/> (a message naming the endpoint, bucket or directory, and
    /// <see cref="HeapDumpEgressException.Fix"/>) when the bucket cannot be read, the directory is not writable, or
    /// the free space is below the dump's size plus <c>Storage:ReserveBytes</c>.
    /// </summary>
    public async Task<string?> EnsureLocalCopyAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        if (store.Find(id) is { } local)
        {
            return local.DumpPath;
        }

        if (!provider.IsRemote)
        {
            return null;
        }

        await downloads.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have fetched it while this one waited.
            if (store.Find(id) is { } fetched)
            {
                return fetched.DumpPath;
            }

            if (await FindRemoteAsync(id, cancellationToken) is not { } remote)
            {
                return null;
            }

            return await DownloadAsync(remote, cancellationToken);
        }
        finally
        {
            downloads.Release();
        }
    }

    /// <summary>Checks the target now (start-up, <c>/heapdump/capabilities</c>).</summary>
    public async Task<HeapDumpEgressState> CheckAsync(CancellationToken cancellationToken)
    {
        var check = await provider.CheckAsync(cancellationToken);
        return new HeapDumpEgressState(provider.Name, provider.Target, check.Ok, check.Problem, check.Fix, timeProvider.GetUtcNow());
    }

    /// <summary>The last upload and the last egress error, for <c>/monitor</c>.</summary>
    public HeapDumpEgressStatus Status()
    {
        lock (stateLock)
        {
            return new HeapDumpEgressStatus(provider.Name, provider.Target, lastUploadAt, lastUploadId, lastError);
        }
    }

    public void Dispose() => downloads.Dispose();

    private async Task<string> DownloadAsync(RemoteHeapDump remote, CancellationToken cancellationToken)
    {
        if (store.EnsureWritable() is { } notWritable)
        {
            throw new HeapDumpEgressException(notWritable) { Fix = "Point HeapDiagnostics:Storage:Directory at a writable directory." };
        }

        var reserve = options.Value.Storage.ReserveBytes;
        if (store.FreeBytes() is { } free && free < remote.SizeBytes + reserve)
        {
            throw new HeapDumpEgressException($"{free:N0} bytes are free in '{store.DirectoryPath}'; the copy of '{remote.Id}' needs {remote.SizeBytes:N0} bytes plus the {reserve:N0}-byte reserve (Storage:ReserveBytes).")
            {
                Fix = "Free disk space or delete old local dumps (DELETE /heapdump/{id}).",
            };
        }

        var started = Stopwatch.GetTimestamp();
        using var content = await provider.OpenAsync(remote.Key, null, cancellationToken)
            ?? throw new HeapDumpEgressException($"'{remote.Key}' vanished from {provider.Target} while it was being fetched.") { Fix = "List the dumps again with GET /heapdump." };
        var temp = store.TempDumpPath(remote.Id);
        try
        {
            await using (var file = store.CreateTempDumpFile(remote.Id, CopyBufferBytes))
            {
                await content.Content.CopyToAsync(file, CopyBufferBytes, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }

            var length = new FileInfo(temp).Length;
            if (length != remote.SizeBytes)
            {
                throw new HeapDumpEgressException($"The copy of '{remote.Key}' from {provider.Target} has {length:N0} bytes; the bucket lists {remote.SizeBytes:N0}.") { Fix = "Try again; if it repeats, download the object with another S3 client and compare." };
            }

            if (remote.DiagnosticsKey is { } diagnosticsKey && !File.Exists(store.DiagnosticsPath(remote.Id)))
            {
                using var diagnostics = await provider.OpenAsync(diagnosticsKey, null, cancellationToken);
                if (diagnostics is not null)
                {
                    // Diagnostics are a few kilobytes: reading them whole is fine, and the store writes them atomically.
                    using var buffer = new MemoryStream();
                    await diagnostics.Content.CopyToAsync(buffer, cancellationToken);
                    store.WriteDiagnostics(remote.Id, buffer.ToArray());
                }
            }

            var stored = store.Commit(remote.Id);
            LogDownloaded(logger, remote.Id.ToString(), stored.SizeBytes, remote.Key, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return stored.DumpPath;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HttpRequestException)
        {
            store.DiscardTemp(remote.Id);
            throw new HeapDumpEgressException($"Fetching '{remote.Key}' from {provider.Target} into '{store.DirectoryPath}' failed: {ex.Message}", ex)
            {
                Fix = "Check the free space and permissions of Storage:Directory and that the bucket is reachable, then try again.",
            };
        }
        catch
        {
            store.DiscardTemp(remote.Id);
            throw;
        }
    }

    private void RecordError(string? dumpId, string message)
    {
        lock (stateLock)
        {
            lastError = new HeapDumpEgressError(timeProvider.GetUtcNow(), dumpId, message);
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({SizeBytes} bytes) uploaded to {Location} in {DurationMs:0} ms ({Retries} retries)")]
    private static partial void LogUploaded(ILogger logger, string dumpId, long sizeBytes, string location, double durationMs, int retries);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Heap dump {DumpId} was not uploaded: {Error}")]
    private static partial void LogUploadFailed(ILogger logger, string dumpId, string error);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Heap dump {DumpId} deleted from {Path} after its upload (Egress:S3:DeleteLocalAfterUpload)")]
    private static partial void LogLocalDeleted(ILogger logger, string dumpId, string path);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "HeapDiag egress: {Error}")]
    private static partial void LogRemoteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({SizeBytes} bytes) fetched from {Key} for a local copy in {DurationMs:0} ms")]
    private static partial void LogDownloaded(ILogger logger, string dumpId, long sizeBytes, string key, double durationMs);
}
