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
/// The test host pointed at a storage server (s3rver, Azurite), with the smallest parts the S3 SDK takes and few
/// retries, so tests see multipart uploads and give up fast. The app's S3 client gets the server's credentials (or the
/// ones given) instead of the SDK's chain, whose last resort, the instance metadata service, is not on this machine;
/// Azure's comes from the connection string in the settings.
/// </summary>
internal static class BucketTestHost
{
    public const long PartSizeBytes = 5L << 20;

    /// <summary>Where the app keeps its dumps in the bucket: <c>{Prefix}/{app}/</c>, with the prefix <see cref="IBucketServer.Settings"/> sets.</summary>
    public const string AppPrefix = $"team/dumps/{TestHost.ApplicationName}/";

    public static Task<TestHost> StartAsync(
        S3rverServer s3,
        AWSCredentials? credentials = null,
        string? bucket = null,
        IDictionary<string, string?>? settings = null,
        Action<BucketEgressOptions>? tune = null,
        IHeapDumpWriter? writer = null) =>
        StartAsync((IBucketServer)s3, bucket, settings, tune, writer, services => services.AddSingleton(credentials ?? new BasicAWSCredentials(S3rverServer.AccessKey, S3rverServer.SecretKey)));

    public static Task<TestHost> StartAsync(
        IBucketServer server,
        string? bucket = null,
        IDictionary<string, string?>? settings = null,
        Action<BucketEgressOptions>? tune = null,
        IHeapDumpWriter? writer = null,
        Action<IServiceCollection>? services = null)
    {
        var all = server.Settings(bucket);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return TestHost.StartAsync(all, services: collection =>
        {
            services?.Invoke(collection);
            collection.TryAddSingleton<AWSCredentials>(new BasicAWSCredentials(S3rverServer.AccessKey, S3rverServer.SecretKey));
            collection.PostConfigure<HeapDiagnosticsOptions>(options =>
            {
                foreach (var section in new BucketEgressOptions[] { options.Egress.S3, options.Egress.AzureBlob })
                {
                    section.PartSizeBytes = PartSizeBytes;
                    section.MaxAttempts = 3;
                    section.RequestTimeout = TimeSpan.FromSeconds(30);
                    tune?.Invoke(section);
                }
            });
            if (writer is not null)
            {
                collection.Replace(ServiceDescriptor.Singleton(writer));
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
