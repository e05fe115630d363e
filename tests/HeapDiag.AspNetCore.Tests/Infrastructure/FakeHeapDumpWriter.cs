using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore.Tests.Infrastructure;

/// <summary>Writes a small file instead of a dump: for tests about routing, input and authorization, not dumps.</summary>
internal sealed class FakeHeapDumpWriter : IHeapDumpWriter
{
    public Task WriteAsync(string type, string path, CancellationToken cancellationToken) =>
        File.WriteAllBytesAsync(path, new byte[1024], cancellationToken);
}
