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

/// <summary>Puts a stand-in writer in place of the runtime's.</summary>
internal static class TestWriters
{
    public static void Use<TWriter>(IServiceCollection services)
        where TWriter : class, IHeapDumpWriter =>
        services.Replace(ServiceDescriptor.Singleton<IHeapDumpWriter, TWriter>());
}
