using HeapDiag.AspNetCore.Capture;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>Writes a small file instead of a dump: for tests about routing, input and authorization, not dumps.</summary>
internal sealed class FakeHeapDumpWriter : IHeapDumpWriter
{
    public Task WriteAsync(string type, string path, CancellationToken cancellationToken) =>
        File.WriteAllBytesAsync(path, new byte[1024], cancellationToken);
}

/// <summary>Writes part of the file, then fails the way the runtime does: proves nothing partial is kept.</summary>
internal sealed class FailingHeapDumpWriter : IHeapDumpWriter
{
    public const string RuntimeError = "Write dump failed - HRESULT 0x80004005";

    public async Task WriteAsync(string type, string path, CancellationToken cancellationToken)
    {
        await File.WriteAllBytesAsync(path, new byte[4096], cancellationToken);
        throw new InvalidOperationException(RuntimeError);
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

/// <summary>Puts a stand-in writer in place of the runtime's.</summary>
internal static class TestWriters
{
    public static void Use<TWriter>(IServiceCollection services)
        where TWriter : class, IHeapDumpWriter =>
        services.Replace(ServiceDescriptor.Singleton<IHeapDumpWriter, TWriter>());

    public static Action<IServiceCollection> Use(IHeapDumpWriter writer) =>
        services => services.Replace(ServiceDescriptor.Singleton(writer));
}
