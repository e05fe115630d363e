using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Storage;

internal sealed partial class HeapDumpStore
{
    // One fetch from the bucket at a time (two analyses of one remote dump must not both fetch 1.5 GB), and one
    // diagnostics copy at a time, so the last write reaches the bucket last.
    private readonly SemaphoreSlim _fetches = new(1, 1);

    /// <summary>The most a live check of the bucket waits.</summary>
    public static readonly TimeSpan BucketCheckTimeout = TimeSpan.FromSeconds(30);
    private readonly Lock _statusLock = new();
    private HeapDumpEgressStatus? _status;

    public string Provider => bucket?.Provider ?? nameof(HeapDumpEgressProvider.FileSystem);

    public bool HasBucket => bucket is not null;

    /// <summary>Where dumps go, for people: the directory, or <c>s3://bucket/prefix/app/ at endpoint</c>.</summary>
    public string Target => bucket?.Target ?? DirectoryPath;

    /// <summary>
    /// Publishes the dump the writer finished at its temp path: renamed into place, its digest written beside it and into
    /// its diagnostics, retention applied. <paramref name="followedSha256"/> is the digest computed while the writer wrote
    /// the dump, with its zstd form at <see cref="TempPackedDumpPath"/> when the bucket stores zstd; without it, the dump
    /// is read now, once, for its digest and its zstd form.
    /// </summary>
    public async Task<StoredHeapDump> CommitAsync(HeapDumpId id, MemoryDiagnostics diagnostics, string? followedSha256, CancellationToken cancellationToken)
    {
        string sha256;
        try
        {
            sha256 = await DigestTempDumpAsync(id, followedSha256, cancellationToken);
            MakeOwnerOnly(TempDumpPath(id));
            File.Move(TempDumpPath(id), DumpPath(id));
        }
        catch
        {
            DiscardTemp(id);
            throw;
        }

        WriteDigest(id, sha256);
        _digests.Trust(DumpPath(id), sha256);
        WriteAtomically(DiagnosticsPath(id), JsonSerializer.SerializeToUtf8Bytes(diagnostics with { DumpSha256 = sha256 }, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
        ApplyRetention();
        return Find(id) ?? throw new IOException($"The dump '{DumpPath(id)}' vanished right after it was written.");
    }

    private async Task<string> DigestTempDumpAsync(HeapDumpId id, string? followedSha256, CancellationToken cancellationToken)
    {
        await using var dump = new FileStream(TempDumpPath(id), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (dump.Length == 0)
        {
            throw new IOException("The dump writer reported success but wrote an empty file.");
        }

        if (followedSha256 is not null)
        {
            return followedSha256;
        }

        // A follower that failed may have left part of the zstd form.
        var packedPath = TempPackedDumpPath(id);
        TryDelete(PackedTempPath(id));
        await using var packed = packedPath is null ? null : DumpCodec.Compress(new FileStream(packedPath, CreateOptions()), dump.Length);
        return await DumpCodec.CopyWithDigestAsync(dump, packed, cancellationToken);
    }

    /// <summary>Where the zstd form of a dump being written goes when the bucket stores zstd; null when nothing is compressed.</summary>
    public string? TempPackedDumpPath(HeapDumpId id) => bucket?.Settings.Compression == HeapDumpCompression.Zstd ? PackedTempPath(id) : null;

    /// <summary>
    /// Uploads a committed dump (its zstd form, or the dump with <c>Compression=none</c>) and its diagnostics. Never throws:
    /// a failure keeps the local files and is in the result. Cancelled only by the app stopping, not by a client hanging up.
    /// </summary>
    public async Task<HeapDumpEgressResult> ShipAsync(StoredHeapDump dump, MemoryDiagnostics diagnostics)
    {
        var (stopping, started, packed) = (lifetime?.ApplicationStopping ?? CancellationToken.None, time.GetTimestamp(), PackedTempPath(dump.Id));
        if (bucket is null)
        {
            return new HeapDumpEgressResult(Provider, true, dump.DumpPath);
        }

        try
        {
            var file = File.Exists(packed) ? packed : dump.DumpPath;
            var storedBytes = new FileInfo(file).Length;
            var key = await bucket.UploadAsync(dump, file, file == packed, diagnostics, stopping);
            var elapsed = time.GetElapsedTime(started).TotalMilliseconds;
            Record(status => status with { LastUploadAt = time.GetUtcNow(), LastUploadId = dump.Id.ToString() });
            activity?.Post(new DumpEvent(dump.Id, DumpEvent.Shipped, key, null));
            var localDeleted = bucket.Settings.DeleteLocalAfterUpload && Delete(dump.Id) && !File.Exists(dump.DumpPath);
            LogUploaded(logger, dump.Id.ToString(), dump.SizeBytes, storedBytes, bucket.Location(key), elapsed, localDeleted);
            return new HeapDumpEgressResult(Provider, true, bucket.Location(key), key, null, elapsed, localDeleted, storedBytes, file == packed ? "zstd" : "none");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var error = ex switch
            {
                HeapDumpStoreException failure => $"{failure.Message} The dump is kept at {dump.DumpPath}. {failure.Fix}",
                _ when stopping.IsCancellationRequested => $"The app is shutting down, so the upload to {Target} was stopped. The dump is kept at {dump.DumpPath}.",
                _ => $"Upload to {Target} failed unexpectedly: {ex.Message}. The dump is kept at {dump.DumpPath}.",
            };
            LogUploadFailed(logger, dump.Id.ToString(), error);
            Record(status => status with { LastError = new HeapDumpEgressError(time.GetUtcNow(), dump.Id.ToString(), error) });
            return new HeapDumpEgressResult(Provider, false, dump.DumpPath, Error: error, DurationMs: time.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            TryDelete(packed);
        }
    }

    /// <summary>Local and bucket dumps merged by id, newest first. A bucket that cannot be listed leaves the local ones and an error.</summary>
    public async Task<(IReadOnlyList<HeapDumpEntry> Dumps, string? RemoteError)> ListAsync(CancellationToken cancellationToken)
    {
        var entries = List().ToDictionary(dump => dump.Id, dump => new HeapDumpEntry(dump.Id, dump, null, bucket?.LocationName));
        try
        {
            // Only a dump held just in the bucket needs its metadata read (a HEAD each, eight at a time) for size and digest.
            using var throttle = new SemaphoreSlim(8);
            foreach (var dump in await Task.WhenAll((bucket is null ? [] : await bucket.ListAsync(cancellationToken)).Select(async dump =>
            {
                await throttle.WaitAsync(cancellationToken);
                using var turn = new Release(() => throttle.Release());
                return entries.ContainsKey(dump.Id) ? dump : await bucket!.DescribeAsync(dump, cancellationToken);
            })))
            {
                // Ids hold the process id and the millisecond, so only a copy made by hand repeats one: the newest stands.
                entries[dump.Id] = entries.TryGetValue(dump.Id, out var entry) ? entry with { Remote = entry.Remote ?? dump } : new HeapDumpEntry(dump.Id, null, dump, bucket!.LocationName);
            }

            return ([.. entries.Values.OrderByDescending(entry => entry.Id.CreatedUtc)], null);
        }
        catch (HeapDumpStoreException ex)
        {
            return ([.. entries.Values.OrderByDescending(entry => entry.Id.CreatedUtc)], RecordError(null, $"{ex.Message} {ex.Fix}"));
        }
    }

    /// <summary>
    /// Opens a dump as stored: the local file, else the bucket's object (only <paramref name="range"/> of an uncompressed
    /// one), or a short-lived URL to it with <c>Egress:S3:PresignedDownloads</c> or <c>Egress:AzureBlob:SasDownloads</c>. Null when the dump is nowhere.
    /// </summary>
    public async Task<OpenedDump?> OpenAsync(HeapDumpId id, (long? From, long? To)? range, CancellationToken cancellationToken)
    {
        if (TryOpen(DumpPath(id)) is { } file)
        {
            return new OpenedDump(file, false, file.Length, ReadDigest(id), id.CreatedUtc, SizeBytes: file.Length);
        }

        if (await FindRemoteAsync(id, cancellationToken) is not { } remote)
        {
            return null;
        }

        if (bucket!.RedirectDownloads)
        {
            return new OpenedDump(null, remote.Compressed, null, null, null, Redirect: await bucket.CreateDownloadUrlAsync(remote, cancellationToken));
        }

        return await bucket.OpenAsync(remote, remote.Compressed ? null : range, cancellationToken);
    }

    /// <summary>The diagnostics written with a dump, from the disk or else the bucket; null when there are none.</summary>
    public async Task<byte[]?> ReadDiagnosticsAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        TryReadDiagnostics(id) ?? (await FindRemoteAsync(id, cancellationToken) is { DiagnosticsKey: { } key } ? await bucket!.ReadAsync(key, cancellationToken) : null);

    /// <summary>
    /// A local copy of the dump, held against retention until disposed; null when the dump is nowhere. One only in the bucket
    /// is fetched first, one at a time: downloaded, decompressed and hashed, checked against the SHA-256 recorded at upload,
    /// renamed into place with its diagnostics. Failures (bucket, disk guard, corrupt object, digest) throw
    /// <see cref="HeapDumpStoreException"/> and leave no partial file.
    /// </summary>
    public async Task<LocalDumpLease?> LeaseLocalCopyAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        var (hold, lease) = (LeaseForAnalysis(id), (LocalDumpLease?)null);
        try
        {
            var local = Find(id);
            if (local is null && bucket is not null)
            {
                await _fetches.WaitAsync(cancellationToken);
                using var turn = new Release(() => _fetches.Release());

                // Another caller may have fetched it while this one waited.
                local = Find(id) ?? (await FindRemoteAsync(id, cancellationToken) is { } remote ? await FetchAsync(remote, cancellationToken) : null);
            }

            return lease = local is null ? null : new LocalDumpLease(id, local.DumpPath, local.SizeBytes, local.Sha256, hold);
        }
        finally
        {
            if (lease is null)
            {
                hold.Dispose();
            }
        }
    }

    /// <summary>Deletes a dump everywhere; the local copy first, so the disk is freed even while the bucket is unreachable.</summary>
    public async Task<(bool Found, string? RemoteError)> DeleteAsync(HeapDumpId id, CancellationToken cancellationToken)
    {
        var found = Delete(id);
        try
        {
            var remote = await FindRemoteAsync(id, cancellationToken);
            await (remote is null ? Task.CompletedTask : bucket!.DeleteAsync(remote, cancellationToken));
            return (found || remote is not null, null);
        }
        catch (HeapDumpStoreException ex)
        {
            return (found, RecordError(id, $"{(found ? "The local copy was deleted, but " : string.Empty)}{ex.Message} {ex.Fix}"));
        }
    }

    /// <summary>
    /// Checks the bucket now (start-up, <c>/heapdump/capabilities</c>), within <see cref="BucketCheckTimeout"/>: long enough
    /// for the SDK's retries of a transient error to end with their own cause, short enough that a hanging endpoint
    /// answers. The directory's own problems are capture capabilities.
    /// </summary>
    public async Task<HeapDumpEgressState> CheckAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(BucketCheckTimeout, time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await (bucket?.CheckAsync(bounded.Token) ?? Task.CompletedTask);
            return new HeapDumpEgressState(Provider, Target, true, null, null, time.GetUtcNow());
        }
        catch (HeapDumpStoreException ex)
        {
            return new HeapDumpEgressState(Provider, Target, false, ex.Message, ex.Fix, time.GetUtcNow());
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HeapDumpEgressState(Provider, Target, false, $"No answer from {Target} within {BucketCheckTimeout.TotalSeconds:0} s, the SDK's retries included.",
                $"Check {bucket?.EndpointSetting} and that the endpoint is reachable from this instance; the dumps stay in the local directory meanwhile.", time.GetUtcNow());
        }
    }

    public HeapDumpEgressStatus Status() => _status ?? new HeapDumpEgressStatus(Provider, Target, null, null, null);

    public void Dispose() => _fetches.Dispose();

    private async Task<RemoteHeapDump?> FindRemoteAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        bucket is null ? null : (await bucket.ListAsync(cancellationToken)).FirstOrDefault(dump => dump.Id == id);

    private async Task<StoredHeapDump> FetchAsync(RemoteHeapDump listed, CancellationToken cancellationToken)
    {
        var remote = await bucket!.DescribeAsync(listed, cancellationToken);
        var needed = (remote.Compressed ? remote.StoredBytes : 0) + (remote.SizeBytes ?? remote.StoredBytes);
        if (CheckRoom(needed, $"the copy of '{remote.Id}'") is { } shortfall)
        {
            throw new HeapDumpStoreException(shortfall.Message) { Fix = "Free disk space (delete old local dumps with DELETE /heapdump/{id}) or point HeapDiagnostics:Storage:Directory at a writable disk." };
        }

        var (started, temp, packed) = (time.GetTimestamp(), PrepareTempDump(remote.Id), PackedTempPath(remote.Id));
        try
        {
            string sha256;
            await bucket.DownloadAsync(remote.Key, remote.Compressed ? packed : temp, cancellationToken);
            await using (var source = remote.Compressed ? DumpCodec.Decompress(File.OpenRead(packed)) : (Stream)File.OpenRead(temp))
            await using (var target = remote.Compressed ? new FileStream(temp, CreateOptions()) : null)
            {
                sha256 = await DumpCodec.CopyWithDigestAsync(source, target, cancellationToken);
            }

            if (remote.Sha256 is { } expected && !string.Equals(expected, sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new HeapDumpStoreException($"The copy of '{remote.Key}' from {Target} has SHA-256 {sha256}, but {expected} was recorded at its upload: the object was changed or damaged in the bucket. The copy was not kept.")
                { Fix = $"Download the object with another client of the bucket and compare; if it is damaged, delete it (DELETE /heapdump/{remote.Id}) and capture a new dump." };
            }

            if (remote.DiagnosticsKey is { } key && !File.Exists(DiagnosticsPath(remote.Id)) && await bucket.ReadAsync(key, cancellationToken) is { } diagnostics)
            {
                WriteAtomically(DiagnosticsPath(remote.Id), diagnostics);
            }

            MakeOwnerOnly(temp);
            File.Move(temp, DumpPath(remote.Id));
            WriteDigest(remote.Id, sha256);
            _digests.Trust(DumpPath(remote.Id), sha256);
            LogDownloaded(logger, remote.Id.ToString(), remote.StoredBytes, remote.Key, time.GetElapsedTime(started).TotalMilliseconds);
            return Find(remote.Id) ?? throw new IOException($"The copy '{DumpPath(remote.Id)}' vanished right after it was written.");
        }
        catch (Exception ex) when (DumpCodec.IsCorrupt(ex) || ex is IOException or UnauthorizedAccessException)
        {
            var (message, fix) = DumpCodec.IsCorrupt(ex)
                ? ($"'{remote.Key}' in {Target} is not a complete zstd stream (corrupt or truncated: {ex.Message.TrimEnd('.')}); nothing of it was kept.",
                    $"Delete it (DELETE /heapdump/{remote.Id}) and capture a new dump; if uploads keep arriving damaged, check what sits between this instance and the bucket.")
                : ($"Fetching '{remote.Key}' from {Target} into '{DirectoryPath}' failed: {ex.Message}", "Check the free space and permissions of Storage:Directory, then try again.");
            throw new HeapDumpStoreException(message, ex) { Fix = fix };
        }
        finally
        {
            DiscardTemp(remote.Id);
        }
    }

    private async Task SyncDiagnosticsAsync(HeapDumpId id)
    {
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        try
        {
            // Each copy sends what is on disk when it runs.
            await _fetches.WaitAsync(stopping);
            using var turn = new Release(() => _fetches.Release());
            if (await FindRemoteAsync(id, stopping) is { } remote && TryReadDiagnostics(id) is { } content)
            {
                await bucket!.PutDiagnosticsAsync(remote.Key, content, stopping);
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

    private string RecordError(HeapDumpId? id, string message)
    {
        LogRemoteFailed(logger, message);
        Record(status => status with { LastError = new HeapDumpEgressError(time.GetUtcNow(), id?.ToString(), message) });
        return message;
    }

    private void Record(Func<HeapDumpEgressStatus, HeapDumpEgressStatus> change)
    {
        lock (_statusLock)
        {
            _status = change(Status());
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({SizeBytes} bytes, {StoredBytes} stored) uploaded to {Location} in {DurationMs:0} ms; local copy deleted (DeleteLocalAfterUpload): {LocalDeleted}")]
    private static partial void LogUploaded(ILogger logger, string dumpId, long sizeBytes, long storedBytes, string location, double durationMs, bool localDeleted);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Heap dump {DumpId} was not uploaded: {Error}")]
    private static partial void LogUploadFailed(ILogger logger, string dumpId, string error);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "HeapDiag egress: {Error}")]
    private static partial void LogRemoteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Heap dump {DumpId} ({StoredBytes} bytes in the bucket) fetched from {Key} and verified for a local copy in {DurationMs:0} ms")]
    private static partial void LogDownloaded(ILogger logger, string dumpId, long storedBytes, string key, double durationMs);
}
