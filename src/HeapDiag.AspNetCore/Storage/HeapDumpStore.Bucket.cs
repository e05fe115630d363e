using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Storage;

// The half of the store that spans both tiers: commit with the digest, upload, list, open, local copies, delete.
internal sealed partial class HeapDumpStore
{
    // One fetch from the bucket at a time: two analyses of one remote dump must not both fetch 1.5 GB.
    private readonly SemaphoreSlim fetches = new(1, 1);
    private readonly SemaphoreSlim diagnosticsSyncs = new(1, 1);
    private readonly Lock statusLock = new();
    private HeapDumpEgressStatus? status;

    /// <summary><c>FileSystem</c> or <c>S3</c>, as <c>Egress:Provider</c> says.</summary>
    public string Provider => bucket is null ? nameof(HeapDumpEgressProvider.FileSystem) : nameof(HeapDumpEgressProvider.S3);

    public bool HasBucket => bucket is not null;

    /// <summary>Where dumps go, for people: the directory, or <c>s3://bucket/prefix/app/ at endpoint</c>.</summary>
    public string Target => bucket?.Target ?? DirectoryPath;

    /// <summary>
    /// Publishes the dump the writer finished at its temp path. The file is read once: for its SHA-256 and, when the
    /// bucket stores zstd, to compress it for the upload in the same pass (createdump writes the file from outside
    /// while this process is suspended, so this is the first moment it can be read). Then it is renamed into place
    /// (owner-only), the digest written beside it and into its diagnostics, and retention applied. An empty or
    /// unreadable file throws <see cref="IOException"/> and leaves nothing behind.
    /// </summary>
    public async Task<StoredHeapDump> CommitAsync(HeapDumpId id, MemoryDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        string sha256;
        try
        {
            await using (var dump = new FileStream(TempDumpPath(id), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                var compress = bucket is not null && options.Value.Egress.S3.Compression == HeapDumpCompression.Zstd;
                await using var packed = dump.Length > 0 && compress ? DumpCodec.Compress(new FileStream(PackedTempPath(id), CreateOptions()), dump.Length) : null;
                sha256 = dump.Length > 0 ? await DumpCodec.CopyWithDigestAsync(dump, packed, cancellationToken) : throw new IOException("The dump writer reported success but wrote an empty file.");
            }

            MakeOwnerOnly(TempDumpPath(id));
            File.Move(TempDumpPath(id), DumpPath(id));
        }
        catch
        {
            DiscardTemp(id);
            throw;
        }

        WriteDigest(id, sha256);
        WriteAtomically(DiagnosticsPath(id), JsonSerializer.SerializeToUtf8Bytes(diagnostics with { DumpSha256 = sha256 }, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
        ApplyRetention();
        return Find(id) ?? throw new IOException($"The dump '{DumpPath(id)}' vanished right after it was written.");
    }

    /// <summary>
    /// Uploads a committed dump (the zstd form <see cref="CommitAsync"/> made, or the dump itself with
    /// <c>Compression=none</c>) and its diagnostics. Never throws: a failure keeps the local files and comes back in the
    /// result. Not cancelled by the caller (a client that hangs up must not leave the dump unshipped), only by the app stopping.
    /// </summary>
    public async Task<HeapDumpEgressResult> ShipAsync(StoredHeapDump dump, MemoryDiagnostics diagnostics)
    {
        var (stopping, started, packed) = (lifetime?.ApplicationStopping ?? CancellationToken.None, Stopwatch.GetTimestamp(), PackedTempPath(dump.Id));
        if (bucket is null)
        {
            return new HeapDumpEgressResult(Provider, true, dump.DumpPath);
        }

        string error;
        try
        {
            var file = File.Exists(packed) ? packed : dump.DumpPath;
            var storedBytes = new FileInfo(file).Length;
            var key = await bucket.UploadAsync(dump, file, file == packed, diagnostics, stopping);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Record(status => status with { LastUploadAt = time.GetUtcNow(), LastUploadId = dump.Id.ToString() });
            var localDeleted = options.Value.Egress.S3.DeleteLocalAfterUpload && Delete(dump.Id) && !File.Exists(dump.DumpPath);
            LogUploaded(logger, dump.Id.ToString(), dump.SizeBytes, storedBytes, bucket.Location(key), elapsed, localDeleted);
            return new HeapDumpEgressResult(Provider, true, bucket.Location(key), key, null, elapsed, localDeleted, storedBytes, file == packed ? "zstd" : "none");
        }
        catch (HeapDumpStoreException ex)
        {
            error = $"{ex.Message} The dump is kept at {dump.DumpPath}. {ex.Fix}";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = stopping.IsCancellationRequested
                ? $"The app is shutting down, so the upload to {Target} was stopped. The dump is kept at {dump.DumpPath}."
                : $"Upload to {Target} failed unexpectedly: {ex.Message}. The dump is kept at {dump.DumpPath}.";
        }
        finally
        {
            TryDelete(packed);
        }

        RecordError(dump.Id, error, upload: true);
        return new HeapDumpEgressResult(Provider, false, dump.DumpPath, Error: error, DurationMs: Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Local and bucket dumps merged by id, newest first. A bucket that cannot be listed leaves the local ones and an error.</summary>
    public async Task<HeapDumpCatalog> ListAsync(CancellationToken cancellationToken)
    {
        var entries = List().ToDictionary(dump => dump.Id, dump => new HeapDumpEntry(dump.Id, dump, null));
        try
        {
            // A dump held only in the bucket is described from its metadata (size and digest; a HEAD each, eight at a
            // time); a local copy already says both.
            using var throttle = new SemaphoreSlim(8);
            foreach (var dump in await Task.WhenAll((bucket is null ? [] : await bucket.ListAsync(cancellationToken)).Select(async dump =>
            {
                await throttle.WaitAsync(cancellationToken);
                using var turn = new Release(() => throttle.Release());
                return entries.ContainsKey(dump.Id) ? dump : await bucket!.DescribeAsync(dump, cancellationToken);
            })))
            {
                // Ids hold the process id and the millisecond, so only a copy made by hand repeats one: the newest stands.
                entries[dump.Id] = entries.TryGetValue(dump.Id, out var entry) ? entry with { Remote = entry.Remote ?? dump } : new HeapDumpEntry(dump.Id, null, dump);
            }

            return new HeapDumpCatalog([.. entries.Values.OrderByDescending(entry => entry.Id.CreatedUtc)], null);
        }
        catch (HeapDumpStoreException ex)
        {
            return new HeapDumpCatalog([.. entries.Values.Where(entry => entry.Local is not null).OrderByDescending(entry => entry.Id.CreatedUtc)], RecordError(null, $"{ex.Message} {ex.Fix}"));
        }
    }

    /// <summary>
    /// Opens a dump for a download, as stored: the local file when there is one, else the bucket's object (a
    /// presigned URL to it with <c>Egress:S3:PresignedDownloads</c>). <paramref name="range"/> is asked of the bucket
    /// only for an uncompressed object. Null when the dump is nowhere; throws <see cref="HeapDumpStoreException"/>.
    /// </summary>
    public async Task<OpenedDump?> OpenAsync(HeapDumpId id, RemoteRange? range, CancellationToken cancellationToken)
    {
        if (OpenLocal(id) is { } local)
        {
            return local;
        }

        if (bucket is null || await bucket.FindAsync(id, cancellationToken) is not { } remote)
        {
            return null;
        }

        if (options.Value.Egress.S3.PresignedDownloads)
        {
            return new OpenedDump(null, remote.Compressed, null, null, null, Redirect: new Uri(await bucket.PresignAsync(remote)));
        }

        var response = await bucket.GetAsync(remote.Key, remote.Compressed ? null : range, cancellationToken);
        return response is null ? null : new OpenedDump(
            response.ResponseStream,
            remote.Compressed,
            response.ContentLength,
            response.Metadata[S3DumpBucket.Sha256Metadata],
            response.LastModified is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null,
            response.HttpStatusCode == HttpStatusCode.PartialContent ? response.ContentRange : null,
            long.TryParse(response.Metadata[S3DumpBucket.SizeMetadata], NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null);
    }

    /// <summary>The diagnostics written with a dump, from the disk or else the bucket; null when there are none.</summary>
    public async Task<byte[]?> ReadDiagnosticsAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        TryReadDiagnostics(id) ?? (bucket is not null && await bucket.FindAsync(id, cancellationToken) is { DiagnosticsKey: { } key } ? await ReadObjectAsync(key, cancellationToken) : null);

    /// <summary>
    /// A local copy of the dump for an analysis, held against retention until the lease is disposed; null when the
    /// dump is nowhere. A dump held only in the bucket is fetched first, one fetch at a time: downloaded (as a
    /// <c>.tmp</c>), decompressed and hashed in one pass, checked against the SHA-256 recorded at upload, and renamed
    /// into place with its diagnostics: from then on an ordinary local dump (listed as <c>both</c>). Throws
    /// <see cref="HeapDumpStoreException"/>, leaving no partial file, when the bucket cannot be read, the disk guard
    /// refuses, the object is corrupt or truncated, or the digest does not match.
    /// </summary>
    public async Task<LocalDumpLease?> LeaseLocalCopyAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        var hold = LeaseForAnalysis(id);
        try
        {
            var local = Find(id);
            if (local is null && bucket is not null)
            {
                await fetches.WaitAsync(cancellationToken);
                try
                {
                    // Another caller may have fetched it while this one waited.
                    local = Find(id) ?? (await bucket.FindAsync(id, cancellationToken) is { } remote ? await FetchAsync(remote, cancellationToken) : null);
                }
                finally
                {
                    fetches.Release();
                }
            }

            return local is null ? Released(hold) : new LocalDumpLease(local, hold);
        }
        catch
        {
            hold.Dispose();
            throw;
        }

        static LocalDumpLease? Released(IDisposable hold)
        {
            hold.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Deletes a dump everywhere. The local copy goes first: when the bucket is unreachable during an incident, the
    /// disk must still be freeable. A bucket failure is returned (not thrown) so the caller can say what is left.
    /// </summary>
    public async Task<HeapDumpDeletion> DeleteAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        var found = Delete(id);
        try
        {
            if (bucket is not null && await bucket.FindAsync(id, cancellationToken) is { } remote)
            {
                await bucket.DeleteAsync(remote, cancellationToken);
                found = true;
            }

            return new HeapDumpDeletion(found, null);
        }
        catch (HeapDumpStoreException ex)
        {
            return new HeapDumpDeletion(found, RecordError(id, $"{(found ? "The local copy was deleted, but " : string.Empty)}{ex.Message} {ex.Fix}"));
        }
    }

    /// <summary>Checks now that dumps can be stored: the bucket, or the directory (start-up, <c>/heapdump/capabilities</c>).</summary>
    public async Task<HeapDumpEgressState> CheckAsync(CancellationToken cancellationToken)
    {
        var (problem, fix) = (EnsureWritable(), (string?)"Point HeapDiagnostics:Storage:Directory at a writable directory.");
        try
        {
            if (bucket is not null)
            {
                (problem, fix) = (null, null);
                await bucket.CheckAsync(cancellationToken);
            }
        }
        catch (HeapDumpStoreException ex)
        {
            (problem, fix) = (ex.Message, ex.Fix);
        }

        return new HeapDumpEgressState(Provider, Target, problem is null, problem, problem is null ? null : fix, time.GetUtcNow());
    }

    /// <summary>The last upload and the last bucket error, for <c>/monitor</c>.</summary>
    public HeapDumpEgressStatus Status() => Volatile.Read(ref status) ?? new HeapDumpEgressStatus(Provider, Target, null, null, null);

    public void Dispose()
    {
        fetches.Dispose();
        diagnosticsSyncs.Dispose();
    }

    private async Task<StoredHeapDump> FetchAsync(RemoteHeapDump listed, CancellationToken cancellationToken)
    {
        var remote = await bucket!.DescribeAsync(listed, cancellationToken);
        var (reserve, needed) = (options.Value.Storage.ReserveBytes, (remote.Compressed ? remote.StoredBytes : 0) + (remote.SizeBytes ?? remote.StoredBytes));
        if (EnsureWritable() is { } notWritable)
        {
            throw new HeapDumpStoreException(notWritable) { Fix = "Point HeapDiagnostics:Storage:Directory at a writable directory." };
        }

        if (FreeBytes() is { } free && free < needed + reserve)
        {
            throw new HeapDumpStoreException($"{free:N0} bytes are free in '{DirectoryPath}'; the copy of '{remote.Id}' needs {needed:N0} bytes plus the {reserve:N0}-byte reserve (Storage:ReserveBytes).")
            {
                Fix = "Free disk space or delete old local dumps (DELETE /heapdump/{id}).",
            };
        }

        var (started, temp, packed) = (Stopwatch.GetTimestamp(), PrepareTempDump(remote.Id), PackedTempPath(remote.Id));
        try
        {
            await bucket.DownloadAsync(remote.Key, remote.Compressed ? packed : temp, cancellationToken);
            string sha256;
            await using (var source = remote.Compressed ? DumpCodec.Decompress(File.OpenRead(packed)) : (Stream)File.OpenRead(temp))
            await using (var target = remote.Compressed ? new FileStream(temp, CreateOptions()) : null)
            {
                sha256 = await DumpCodec.CopyWithDigestAsync(source, target, cancellationToken);
            }

            if (remote.Sha256 is { } expected && !string.Equals(expected, sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new HeapDumpStoreException($"The copy of '{remote.Key}' from {Target} has SHA-256 {sha256}, but {expected} was recorded at its upload: the object was changed or damaged in the bucket. The copy was not kept.")
                {
                    Fix = $"Download the object with another S3 client and compare; if it is damaged, delete it (DELETE /heapdump/{remote.Id}) and capture a new dump.",
                };
            }

            if (remote.DiagnosticsKey is { } key && !File.Exists(DiagnosticsPath(remote.Id)) && await ReadObjectAsync(key, cancellationToken) is { } diagnostics)
            {
                WriteAtomically(DiagnosticsPath(remote.Id), diagnostics);
            }

            MakeOwnerOnly(temp);
            File.Move(temp, DumpPath(remote.Id));
            WriteDigest(remote.Id, sha256);
            LogDownloaded(logger, remote.Id.ToString(), remote.StoredBytes, remote.Key, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return Find(remote.Id) ?? throw new IOException($"The copy '{DumpPath(remote.Id)}' vanished right after it was written.");
        }
        catch (Exception ex) when (DumpCodec.IsCorrupt(ex))
        {
            throw new HeapDumpStoreException($"'{remote.Key}' in {Target} is not a complete zstd stream (corrupt or truncated: {ex.Message.TrimEnd('.')}); nothing of it was kept.", ex)
            {
                Fix = $"Delete it (DELETE /heapdump/{remote.Id}) and capture a new dump; if uploads keep arriving damaged, check what sits between this instance and the bucket.",
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HeapDumpStoreException($"Fetching '{remote.Key}' from {Target} into '{DirectoryPath}' failed: {ex.Message}", ex) { Fix = "Check the free space and permissions of Storage:Directory, then try again." };
        }
        finally
        {
            DiscardTemp(remote.Id);
        }
    }

    private async Task<byte[]?> ReadObjectAsync(string key, CancellationToken cancellationToken)
    {
        using var response = await bucket!.GetAsync(key, null, cancellationToken);
        if (response is null)
        {
            return null;
        }

        // Diagnostics are a few kilobytes: read whole.
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private async Task SyncDiagnosticsAsync(HeapDumpId id)
    {
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        try
        {
            // One at a time, each sending what is on disk when it runs: the last write reaches the bucket last.
            await diagnosticsSyncs.WaitAsync(stopping);
            using var turn = new Release(() => diagnosticsSyncs.Release());
            if (await bucket!.FindAsync(id, stopping) is { } remote && TryReadDiagnostics(id) is { } content)
            {
                await bucket.PutDiagnosticsAsync(remote.Key, content, stopping);
            }
        }
        catch (HeapDumpStoreException ex)
        {
            RecordError(id, $"The diagnostics of {id} were not copied to the bucket: {ex.Message} {ex.Fix}");
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // The app is stopping.
        }
    }

    private string RecordError(HeapDumpId? id, string message, bool upload = false)
    {
        Record(status => status with { LastError = new HeapDumpEgressError(time.GetUtcNow(), id?.ToString(), message) });
        if (upload)
        {
            LogUploadFailed(logger, id!.ToString(), message);
        }
        else
        {
            LogRemoteFailed(logger, message);
        }

        return message;
    }

    private void Record(Func<HeapDumpEgressStatus, HeapDumpEgressStatus> change)
    {
        lock (statusLock)
        {
            status = change(Status());
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({SizeBytes} bytes, {StoredBytes} stored) uploaded to {Location} in {DurationMs:0} ms; local copy deleted (Egress:S3:DeleteLocalAfterUpload): {LocalDeleted}")]
    private static partial void LogUploaded(ILogger logger, string dumpId, long sizeBytes, long storedBytes, string location, double durationMs, bool localDeleted);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Heap dump {DumpId} was not uploaded: {Error}")]
    private static partial void LogUploadFailed(ILogger logger, string dumpId, string error);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "HeapDiag egress: {Error}")]
    private static partial void LogRemoteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({StoredBytes} bytes in the bucket) fetched from {Key} and verified for a local copy in {DurationMs:0} ms")]
    private static partial void LogDownloaded(ILogger logger, string dumpId, long storedBytes, string key, double durationMs);
}
