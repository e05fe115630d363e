using HeapDiag.AspNetCore.Capture;

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
