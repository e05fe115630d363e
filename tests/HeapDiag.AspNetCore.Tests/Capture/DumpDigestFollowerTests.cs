using System.Security.Cryptography;
using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Tests.Capture;

/// <summary>
/// The real <c>digest --follow</c> process on a file written beside it: its answer is the dump's digest, and the zstd
/// form it wrote is whole by then, because the store ships that file as it is the moment the answer arrives.
/// </summary>
public sealed class DumpDigestFollowerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heapdiag-follower-").FullName;
    private readonly HeapDumpStore _store;

    public DumpDigestFollowerTests() =>
        _store = new HeapDumpStore(Options.Create(new HeapDumpStorageOptions { Directory = _directory }), TimeProvider.System, NullLogger<HeapDumpStore>.Instance);

    // Frames whose end the follower once left in its file buffer (4 KiB), never written: one smaller than the buffer
    // (the file stayed empty), and one whose last write is a few bytes after whole megabytes (cut off before its end).
    [Theory]
    [InlineData(1_000, 0)]
    [InlineData(64_000, 0)]
    [InlineData(3 << 20, 3 << 20)]
    public async Task The_zstd_form_is_complete_when_the_digest_is_answered(int size, int random)
    {
        var host = AnalyzerHost.Locate();
        Assert.True(host.IsAvailable, host.Problem);
        var dump = Path.Combine(_directory, "heapdump.dmp.tmp");
        var packed = Path.Combine(_directory, "heapdump.dmp.zst.tmp");
        var content = new byte[size];
        RandomNumberGenerator.Fill(content.AsSpan(0, random));

        using var follower = new DumpDigestFollower(host, NullLogger<DumpDigestFollower>.Instance).Start(dump, packed, () => _store.CreateAnalysisWorkspace(new HeapDumpId(DateTimeOffset.UtcNow, Environment.ProcessId, "manual", 0, "heap")));
        Assert.NotNull(follower);
        await File.WriteAllBytesAsync(dump, content);
        var sha256 = await follower.FinishAsync(content.Length, TimeProvider.System);

        // Read while the follower may still be exiting, as the store does: whatever it had not written by its answer is lost.
        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        Assert.Equal(expected, sha256);
        using var decoded = new MemoryStream();
        Assert.Equal(expected, await DumpCodec.CopyWithDigestAsync(DumpCodec.Decompress(File.OpenRead(packed)), decoded, CancellationToken.None));
        Assert.Equal(content, decoded.ToArray());
    }

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
