using System.Security.Cryptography;
using Amazon.Runtime;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Egress;

/// <summary>
/// SampleApi in memory, pointed at an s3rver, with the smallest parts the SDK takes and few retries, so tests see
/// multipart uploads and give up fast. The app's client gets the server's credentials (or the ones given) instead of
/// the SDK's chain, whose last resort, the instance metadata service, is not on this machine.
/// </summary>
internal static class EgressTestHost
{
    public const long PartSizeBytes = 5L << 20;

    public static SampleApiFactory Create(
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

        return new SampleApiFactory(all, services =>
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

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>The SHA-256 of what a zstd stream decompresses to.</summary>
    public static async Task<string> Sha256OfZstdAsync(Stream zstd)
    {
        await using var raw = HeapDiag.AspNetCore.Storage.DumpCodec.Decompress(zstd);
        return await HeapDiag.AspNetCore.Storage.DumpCodec.CopyWithDigestAsync(raw, null, CancellationToken.None);
    }

    public static async Task<string> Sha256OfFileAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
    }
}

/// <summary>
/// Writes a file of a given size, one reused buffer at a time: a big "dump" without a big heap. Pseudo-random bytes
/// (which do not compress), or with <c>compressible</c> a file that compresses like a heap dump: an object header and a
/// few fields every 4 KiB, zeros between them, as in a dump's free space.
/// </summary>
internal sealed class SizedDumpWriter(long sizeBytes, bool compressible = false) : IHeapDumpWriter
{
    public async Task WriteAsync(string type, string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        var random = new Random(42);
        // The writer creates the file, as createdump does.
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        for (long written = 0; written < sizeBytes; written += buffer.Length)
        {
            if (!compressible)
            {
                random.NextBytes(buffer);
            }

            for (var i = 0; compressible && i < buffer.Length; i += 4096)
            {
                random.NextBytes(buffer.AsSpan(i, 64));
            }

            await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, sizeBytes - written)), cancellationToken);
        }
    }
}
