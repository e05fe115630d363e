using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Egress;

/// <summary>
/// Where finished dumps are shipped besides the local store. One provider is active, chosen by
/// <c>Egress:Provider</c>; the local store (<see cref="HeapDumpStore"/>) is always there, because the dump writer
/// can only write to a local file. Remote operations throw <see cref="HeapDumpEgressException"/> with a message a
/// person can act on.
/// </summary>
internal interface IHeapDumpEgressProvider
{
    /// <summary><c>FileSystem</c> or <c>S3</c>, as reported to clients.</summary>
    string Name { get; }

    /// <summary>Where dumps go, for people: the directory, or <c>s3://bucket/prefix/app/ at endpoint</c>.</summary>
    string Target { get; }

    /// <summary>Whether dumps are held anywhere but the local directory (false for the file system).</summary>
    bool IsRemote { get; }

    /// <summary>Ships a committed dump and its diagnostics. Returns the object key.</summary>
    Task<(string Key, string Location, int Retries)> UploadAsync(StoredHeapDump dump, HeapDumpUploadMetadata metadata, CancellationToken cancellationToken);

    /// <summary>The dumps held remotely for this app (every instance of it), newest first.</summary>
    Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Opens a remote dump (or its diagnostics) for streaming; null when the object is gone.</summary>
    Task<RemoteObject?> OpenAsync(string key, RemoteRange? range, CancellationToken cancellationToken);

    /// <summary>Deletes a remote dump and its diagnostics.</summary>
    Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken);

    /// <summary>Checks that the target can be reached and written with the credentials at hand.</summary>
    Task<HeapDumpEgressCheck> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>The default: dumps stay in <c>Storage:Directory</c>, which is where they already are.</summary>
internal sealed class FileSystemHeapDumpEgress(HeapDumpStore store) : IHeapDumpEgressProvider
{
    public string Name => nameof(HeapDumpEgressProvider.FileSystem);

    public string Target => store.DirectoryPath;

    public bool IsRemote => false;

    public Task<(string Key, string Location, int Retries)> UploadAsync(StoredHeapDump dump, HeapDumpUploadMetadata metadata, CancellationToken cancellationToken) =>
        Task.FromResult((Path.GetFileName(dump.DumpPath), dump.DumpPath, 0));

    public Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<RemoteHeapDump>>([]);

    public Task<RemoteObject?> OpenAsync(string key, RemoteRange? range, CancellationToken cancellationToken) => Task.FromResult<RemoteObject?>(null);

    public Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<HeapDumpEgressCheck> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(store.EnsureWritable() is { } problem
            ? new HeapDumpEgressCheck(false, problem, "Point HeapDiagnostics:Storage:Directory at a writable directory.")
            : new HeapDumpEgressCheck(true, null, null));
}
