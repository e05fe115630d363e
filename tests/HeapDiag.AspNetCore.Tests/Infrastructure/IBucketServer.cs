namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real storage server a test runs (s3rver, Azurite), seen the way the bucket tests need it whatever the provider: the
/// settings that point the app at it, and a client of its own to check what the app stored.
/// </summary>
public interface IBucketServer : IAsyncDisposable
{
    /// <summary><c>Egress:Provider</c>: <c>S3</c>, <c>AzureBlob</c>.</summary>
    string Provider { get; }

    /// <summary>The provider's settings section, for a test's own settings: <c>HeapDiagnostics:Egress:S3</c>.</summary>
    string Section { get; }

    /// <summary>What <c>GET /heapdump</c> says of a dump held only here: <c>s3</c>, <c>azureblob</c>.</summary>
    string LocationName { get; }

    /// <summary>The server's address, which every error about it names.</summary>
    string Endpoint { get; }

    /// <summary>Joins words in metadata names: <c>size-bytes</c> in S3, <c>size_bytes</c> in Azure.</summary>
    char MetadataSeparator { get; }

    /// <summary>What the app reports as an object's location: <c>s3://bucket/key</c>, the blob's URL.</summary>
    string Location(string key);

    /// <summary>Settings that point the app at this server, with <c>Prefix</c> <paramref name="prefix"/>.</summary>
    Dictionary<string, string?> Settings(string? bucket = null, string prefix = "team/dumps");

    Task<byte[]> ReadAsync(string key);

    /// <summary>The object's metadata, as the app wrote it.</summary>
    Task<IDictionary<string, string>> MetadataAsync(string key);

    /// <summary>Every object's key (name), in any order.</summary>
    Task<IReadOnlyList<string>> ListKeysAsync();

    /// <summary>Writes an object as anyone with write access to the bucket could (a foreign object, a record of another instance).</summary>
    Task PutAsync(string key, byte[] content);

    /// <summary>Replaces an object's bytes, keeping its metadata: a damaged object, as a faulty disk or proxy would leave it.</summary>
    Task OverwriteAsync(string key, byte[] content);

    /// <summary>Stops the server at once, as a crash or a network cut would.</summary>
    void Kill();
}
