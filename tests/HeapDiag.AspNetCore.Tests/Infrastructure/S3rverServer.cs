using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real S3 server for the bucket tier's tests: s3rver (npm), started on 127.0.0.1 with a fresh temp directory and one
/// bucket, stopped and deleted on dispose. Found at <c>$HEAPDIAG_S3RVER</c>, else at
/// <c>.tools/node_modules/.bin/s3rver</c> in the repository (where .ci/run installs it).
/// </summary>
public sealed class S3rverServer : IBucketServer
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    public const string Install = "npm install --prefix .tools s3rver@3.7.1, or set HEAPDIAG_S3RVER to its path";

    private readonly NpmServer _server;

    private S3rverServer(NpmServer server, string bucket)
    {
        _server = server;
        Bucket = bucket;
    }

    public int Port => _server.Port;

    public string Directory => _server.Directory;

    public string Bucket { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public string Output => _server.Output;

    public string Provider => "S3";

    public string Section => "HeapDiagnostics:Egress:S3";

    public string LocationName => "s3";

    public string Endpoint => ServiceUrl;

    public char MetadataSeparator => '-';

    public string Location(string key) => $"s3://{Bucket}/{key}";

    /// <summary>The s3rver executable, or null when it is not installed.</summary>
    public static string? Find() => NpmServer.Find("HEAPDIAG_S3RVER", "s3rver");

    public static async Task<S3rverServer> StartAsync(string bucket = "heapdumps")
    {
        var executable = Find() ?? throw new InvalidOperationException($"s3rver is not installed ({Install}).");
        var server = await NpmServer.StartAsync("s3rver", executable, "listening", (directory, port) => ["-d", directory, "-a", "127.0.0.1", "-p", port, "--configure-bucket", bucket]);
        return new S3rverServer(server, bucket);
    }

    /// <summary>A client of the server with its credentials, for checking what the app stored.</summary>
    public IAmazonS3 CreateClient() => S3DumpBucket.CreateClient(new S3EgressOptions { ServiceUrl = ServiceUrl, ForcePathStyle = true }, new BasicAWSCredentials(AccessKey, SecretKey));

    public async Task PutAsync(string key, byte[] content)
    {
        using var client = CreateClient();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(content) });
    }

    /// <summary>Replaces an object's bytes, keeping its metadata: a damaged object, as a faulty disk or proxy would leave it.</summary>
    public async Task OverwriteAsync(string key, byte[] content)
    {
        using var client = CreateClient();
        var head = await client.GetObjectMetadataAsync(Bucket, key);
        var put = new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(content) };
        foreach (var name in head.Metadata.Keys)
        {
            put.Metadata.Add(name, head.Metadata[name]);
        }

        await client.PutObjectAsync(put);
    }

    public async Task<byte[]> ReadAsync(string key)
    {
        using var client = CreateClient();
        using var response = await client.GetObjectAsync(Bucket, key);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// The object's bytes, or null when the read overlapped a PUT of the same key: s3rver rewrites an object's file in
    /// place, so such a read ends early (S3 itself replaces an object atomically).
    /// </summary>
    public async Task<byte[]?> ReadUnlessBeingReplacedAsync(string key)
    {
        try
        {
            return await ReadAsync(key);
        }
        catch (HttpIOException ex) when (ex.HttpRequestError == HttpRequestError.ResponseEnded)
        {
            return null;
        }
    }

    /// <summary>Settings that point the app at this server.</summary>
    public Dictionary<string, string?> Settings(string? bucket = null, string prefix = "team/dumps") => new()
    {
        ["HeapDiagnostics:Egress:Provider"] = "S3",
        ["HeapDiagnostics:Egress:S3:ServiceUrl"] = ServiceUrl,
        ["HeapDiagnostics:Egress:S3:Region"] = "us-east-1",
        ["HeapDiagnostics:Egress:S3:Bucket"] = bucket ?? Bucket,
        ["HeapDiagnostics:Egress:S3:Prefix"] = prefix,
        ["HeapDiagnostics:Egress:S3:ForcePathStyle"] = "true",
    };

    public async Task<List<S3Object>> ListAsync(string prefix = "")
    {
        using var client = CreateClient();
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix });
        return response.S3Objects ?? [];
    }

    public async Task<IDictionary<string, string>> MetadataAsync(string key)
    {
        using var client = CreateClient();
        var head = await client.GetObjectMetadataAsync(Bucket, key);
        return head.Metadata.Keys.ToDictionary(name => name.StartsWith("x-amz-meta-", StringComparison.Ordinal) ? name["x-amz-meta-".Length..] : name, name => head.Metadata[name]);
    }

    public async Task<IReadOnlyList<string>> ListKeysAsync() => [.. (await ListAsync()).Select(item => item.Key)];

    public async Task<string> Sha256Async(string key)
    {
        using var client = CreateClient();
        using var response = await client.GetObjectAsync(Bucket, key);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(response.ResponseStream));
    }

    /// <summary>Stops the server at once, as a crash or a network cut would.</summary>
    public void Kill() => _server.Kill();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

/// <summary>A fact that needs s3rver (and the programs named); skipped with a message naming what is missing.</summary>
public sealed class RequiresS3rverFactAttribute : FactAttribute
{
    public RequiresS3rverFactAttribute(params string[] programs)
    {
        if (S3rverServer.Find() is null)
        {
            Skip = $"s3rver is not installed ({S3rverServer.Install}; it needs node); .ci/run installs it.";
        }
        else if (programs.FirstOrDefault(program => Programs.Find(program) is null) is { } missing)
        {
            Skip = $"{missing} is not installed (apt-get install {missing}); .ci/run installs it.";
        }
    }
}
