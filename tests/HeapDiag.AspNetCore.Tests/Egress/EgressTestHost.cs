using System.Security.Cryptography;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Egress;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Egress;

/// <summary>SampleApi in memory, pointed at an s3rver, with small parts and quick retries so tests see multipart uploads and give up fast.</summary>
internal static class EgressTestHost
{
    public const long PartSizeBytes = 1L << 20;

    public static SampleApiFactory Create(
        S3rverServer s3,
        TestS3ClientFactory clients,
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
            services.AddSingleton<S3ClientFactory>(clients);
            services.PostConfigure<HeapDiagnosticsOptions>(options =>
            {
                options.Egress.S3.PartSizeBytes = PartSizeBytes;
                options.Egress.S3.MaxAttempts = 3;
                options.Egress.S3.RetryBaseDelay = TimeSpan.FromMilliseconds(50);
                options.Egress.S3.RequestTimeout = TimeSpan.FromSeconds(30);
                tune?.Invoke(options.Egress.S3);
            });
            if (writer is not null)
            {
                services.Replace(ServiceDescriptor.Singleton(writer));
            }
        });
    }

    public static async Task<string> Sha256OfFileAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexString(await SHA256.HashDataAsync(file));
    }
}

/// <summary>Writes a file of a given size with pseudo-random bytes, one reused buffer at a time: a big "dump" without a big heap.</summary>
internal sealed class SizedDumpWriter(long sizeBytes) : IHeapDumpWriter
{
    public async Task WriteAsync(string type, string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        var random = new Random(42);
        // The writer creates the file, as createdump does.
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        for (long written = 0; written < sizeBytes; written += buffer.Length)
        {
            random.NextBytes(buffer);
            await file.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, sizeBytes - written)), cancellationToken);
        }
    }
}
