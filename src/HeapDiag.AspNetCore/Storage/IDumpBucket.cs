using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// The bucket tier of <see cref="HeapDumpStore"/>, whichever cloud holds it (<see cref="S3DumpBucket"/>,
/// <see cref="AzureBlobDumpBucket"/>): objects named by <see cref="BucketLayout"/>, moved by the provider's own SDK with
/// its parallel transfers and retries. What fails for good is a <see cref="HeapDumpStoreException"/> that names the
/// endpoint and the setting to fix, never a credential.
/// </summary>
internal interface IDumpBucket
{
    /// <summary>The provider's name as <c>Egress:Provider</c> spells it: <c>S3</c>, <c>AzureBlob</c>.</summary>
    string Provider { get; }

    /// <summary>Where a dump held only here is, in <c>GET /heapdump</c>'s <c>location</c>: <c>s3</c>, <c>azureblob</c>.</summary>
    string LocationName { get; }

    /// <summary>The provider's section: compression, deleting local copies; its name for messages.</summary>
    BucketEgressOptions Settings { get; }

    /// <summary>Whether downloads of dumps held only here answer a redirect to <see cref="CreateDownloadUrlAsync"/>.</summary>
    bool RedirectDownloads { get; }

    /// <summary>The setting that names the endpoint, for a person whose endpoint does not answer.</summary>
    string EndpointSetting { get; }

    /// <summary>Where dumps go, for people: <c>s3://bucket/prefix/app/ at endpoint</c>; never a secret.</summary>
    string Target { get; }

    /// <summary>How objects are named here: this app's and this instance's folders, the fleet's root.</summary>
    BucketLayout Layout { get; }

    /// <summary>An object's address for people: <c>s3://bucket/key</c>, the blob's URL without a SAS.</summary>
    string Location(string key);

    /// <summary>Uploads a committed dump (<paramref name="file"/>: its zstd form or the dump itself), then its diagnostics. Returns the key.</summary>
    Task<string> UploadAsync(StoredHeapDump dump, string file, bool compressed, MemoryDiagnostics diagnostics, CancellationToken cancellationToken);

    /// <summary>Writes the diagnostics object beside the dump object <paramref name="dumpKey"/>.</summary>
    Task PutDiagnosticsAsync(string dumpKey, byte[] content, CancellationToken cancellationToken);

    /// <summary>Writes a small object whole (an instance record, a compressed result), replacing any of that name.</summary>
    Task PutAsync(string key, byte[] content, string contentType, CancellationToken cancellationToken);

    /// <summary>Every object under <paramref name="prefix"/> (key → stored bytes), page by page, at most <see cref="BucketLayout.MaxListedObjects"/>; with the requests it took.</summary>
    Task<BucketListing> ListObjectsAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>The dumps here for this app (every instance of it), newest first.</summary>
    Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Adds the dump's size and digest from the object's metadata (one request).</summary>
    Task<RemoteHeapDump> DescribeAsync(RemoteHeapDump dump, CancellationToken cancellationToken);

    /// <summary>Opens a dump's object for streaming as stored (only <paramref name="range"/> of it, when given); null when it is gone.</summary>
    Task<OpenedDump?> OpenAsync(RemoteHeapDump dump, (long? From, long? To)? range, CancellationToken cancellationToken);

    /// <summary>A small object (diagnostics) read whole; null when it is gone.</summary>
    Task<byte[]?> ReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Downloads an object to a file with the SDK's own parallel transfer.</summary>
    Task DownloadAsync(string key, string file, CancellationToken cancellationToken);

    /// <summary>A URL that lets whoever holds it download the object for a few minutes (presigned, SAS).</summary>
    Task<Uri> CreateDownloadUrlAsync(RemoteHeapDump dump, CancellationToken cancellationToken);

    /// <summary>Deletes the dump's object, its diagnostics and its results (<see cref="BucketLayout.ObjectsOf"/>).</summary>
    Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken);

    /// <summary>Proves endpoint, credentials, bucket and list permission without writing.</summary>
    Task CheckAsync(CancellationToken cancellationToken);
}

/// <summary>Objects listed under a prefix (key → stored bytes) and the list requests that took.</summary>
internal sealed record BucketListing(IReadOnlyDictionary<string, long> Objects, int Requests);
