namespace HeapDiag.AspNetCore.Storage;

/// <summary>A complete dump on this instance's disk, its SHA-256 (null for a dump older than digests) and its diagnostics.</summary>
internal sealed record StoredHeapDump(HeapDumpId Id, long SizeBytes, string DumpPath, string? DiagnosticsPath, string? Sha256);

/// <summary>
/// A dump in the bucket. <see cref="Instance"/> is <c>{processId}-{sessionId}</c> of the process that wrote it;
/// <see cref="StoredBytes"/> the object's size. <see cref="SizeBytes"/> and <see cref="Sha256"/> describe the dump itself
/// and come from the object's metadata (null until read, and for objects written before digests).
/// </summary>
internal sealed record RemoteHeapDump(HeapDumpId Id, string Key, string? DiagnosticsKey, string Instance, long StoredBytes, long? SizeBytes = null, string? Sha256 = null)
{
    /// <summary>Whether the object is zstd (<c>.dmp.zst</c>) rather than the raw dump of earlier versions (<c>.dmp</c>).</summary>
    public bool Compressed => Key.EndsWith(".zst", StringComparison.Ordinal);
}

/// <summary>A dump wherever it is held: on this instance's disk, in the bucket, or both.</summary>
internal sealed record HeapDumpEntry(HeapDumpId Id, StoredHeapDump? Local, RemoteHeapDump? Remote)
{
    /// <summary><c>local</c>, <c>s3</c> or <c>both</c>.</summary>
    public string Location => (Local, Remote) switch { (not null, not null) => "both", (not null, null) => "local", _ => "s3" };

    public long SizeBytes => Local?.SizeBytes ?? Remote?.SizeBytes ?? Remote?.StoredBytes ?? 0;

    public string? Sha256 => Local?.Sha256 ?? Remote?.Sha256;

    public bool HasDiagnostics => Local?.DiagnosticsPath is not null || Remote?.DiagnosticsKey is not null;
}

/// <summary>The dumps of both tiers, and why the bucket could not be listed (the local ones are listed regardless).</summary>
internal sealed record HeapDumpCatalog(IReadOnlyList<HeapDumpEntry> Dumps, string? RemoteError);

/// <summary>What a delete did.</summary>
internal sealed record HeapDumpDeletion(bool Found, string? RemoteError);

/// <summary>A byte range a client asked for (RFC 9110): <c>(From, To)</c>, <c>(From, null)</c>, or <c>(null, N)</c> for the last N bytes.</summary>
internal sealed record RemoteRange(long? From, long? To);

/// <summary>
/// A dump opened for reading, as it is stored: <see cref="Content"/> is zstd when <see cref="Zstd"/> is true, and only
/// the bytes of <see cref="ContentRange"/> when that is set. <see cref="SizeBytes"/> is the dump's own size when known.
/// For a presigned download, <see cref="Redirect"/> is set instead of the content.
/// </summary>
internal sealed record OpenedDump(
    Stream? Content, bool Zstd, long? Length, string? Sha256, DateTimeOffset? LastModified, string? ContentRange = null, long? SizeBytes = null, Uri? Redirect = null) : IDisposable
{
    public void Dispose() => Content?.Dispose();
}

/// <summary>
/// A local copy of a dump held for an analysis: retention does not delete it until this is disposed. Made by
/// <see cref="HeapDumpStore.LeaseLocalCopyAsync"/>.
/// </summary>
internal sealed class LocalDumpLease(StoredHeapDump dump, IDisposable hold) : IDisposable
{
    public HeapDumpId Id => dump.Id;

    public string DumpPath => dump.DumpPath;

    public long SizeBytes => dump.SizeBytes;

    public string? Sha256 => dump.Sha256;

    public void Dispose() => hold.Dispose();
}

/// <summary>
/// Where a capture's dump went (<c>egress</c> in the capture result): <see cref="Location"/> is the local path or
/// <c>s3://bucket/key</c>; <see cref="StoredBytes"/> what went over the wire into the bucket. A failed upload never
/// fails the capture: the dump stays local and <see cref="Error"/> names the endpoint, the bucket and the fix.
/// </summary>
internal sealed record HeapDumpEgressResult(
    string Provider, bool Success, string? Location, string? Key = null, string? Error = null, double DurationMs = 0, bool LocalDeleted = false, long? StoredBytes = null, string? Compression = null);

/// <summary>The egress part of <c>/heapdump/capabilities</c>: whether the bucket (or the directory) is usable now.</summary>
internal sealed record HeapDumpEgressState(string Provider, string Target, bool Ok, string? Problem, string? Fix, DateTimeOffset CheckedAt);

/// <summary>The egress part of <c>/monitor</c>: the last upload and the last failure of any upload, listing, download or delete.</summary>
internal sealed record HeapDumpEgressStatus(string Provider, string Target, DateTimeOffset? LastUploadAt, string? LastUploadId, HeapDumpEgressError? LastError);

/// <summary>One failure of the bucket tier.</summary>
internal sealed record HeapDumpEgressError(DateTimeOffset At, string? DumpId, string Message);

/// <summary>
/// A storage failure with a message a person can act on: it names the endpoint, the bucket, the key or the directory
/// and the <see cref="Fix"/>, never a credential.
/// </summary>
internal sealed class HeapDumpStoreException : Exception
{
    public HeapDumpStoreException()
    {
    }

    public HeapDumpStoreException(string message)
        : base(message)
    {
    }

    public HeapDumpStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>What to do about it, for a person.</summary>
    public string? Fix { get; init; }

    /// <summary>The storage service's error code (for example <c>NoSuchBucket</c>), when it answered.</summary>
    public string? ErrorCode { get; init; }
}
