using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>
/// The test host pointed at an s3rver, with the smallest parts the SDK takes and few retries, so tests see multipart
/// uploads and give up fast. The app's client gets the server's credentials (or the ones given) instead of the SDK's
/// chain, whose last resort, the instance metadata service, is not on this machine.
/// </summary>
internal static class BucketTestHost
{
    public const long PartSizeBytes = 5L << 20;

    /// <summary>Where the app keeps its dumps in the bucket: <c>{Prefix}/{app}/</c>, with the prefix <see cref="S3rverServer.Settings"/> sets.</summary>
    public const string AppPrefix = $"team/dumps/{TestHost.ApplicationName}/";

    public static Task<TestHost> StartAsync(
        S3rverServer s3,
        AWSCredentials? credentials = null,
        string? bucket = null,
        IDictionary<string, string?>? settings = null,
        Action<S3EgressOptions>? tune = null,
        IHeapDumpWriter? writer = null)
    {
        var all = s3.Settings(bucket);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return TestHost.StartAsync(all, services: services =>
        {
            services.AddSingleton(credentials ?? new BasicAWSCredentials(S3rverServer.AccessKey, S3rverServer.SecretKey));
            services.PostConfigure<HeapDiagnosticsOptions>(options =>
            {
                options.Egress.S3.PartSizeBytes = PartSizeBytes;
                options.Egress.S3.MaxAttempts = 3;
                options.Egress.S3.RequestTimeout = TimeSpan.FromSeconds(30);
                tune?.Invoke(options.Egress.S3);
            });
            if (writer is not null)
            {
                services.Replace(ServiceDescriptor.Singleton(writer));
            }
        });
    }
}

/// <summary>SHA-256 of bytes, files and what a zstd stream decompresses to, as lowercase hex (the store's form).</summary>
internal static class Digest
{
    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public static async Task<string> Sha256OfZstdAsync(Stream zstd)
    {
        await using var raw = DumpCodec.Decompress(zstd);
        return await DumpCodec.CopyWithDigestAsync(raw, null, CancellationToken.None);
    }

    public static async Task<string> Sha256OfFileAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
    }
}

/// <summary>Watches the app's own S3 client (made once by dependency injection): counts the upload parts it sends.</summary>
internal sealed class UploadWatch
{
    private int _uploadParts;

    public UploadWatch(IServiceProvider services) =>
        ((AmazonS3Client)services.GetRequiredService<IAmazonS3>()).AfterResponseEvent += (_, e) =>
        {
            if (e is WebServiceResponseEventArgs { Request: UploadPartRequest })
            {
                var parts = Interlocked.Increment(ref _uploadParts);
                AfterUploadPart?.Invoke(parts);
            }
        };

    public int UploadParts => Volatile.Read(ref _uploadParts);

    /// <summary>Called after each UploadPart response, with the count so far.</summary>
    public Action<int>? AfterUploadPart { get; set; }
}
