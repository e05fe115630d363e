using System.Security.Cryptography;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Storage;

/// <summary>zstd and SHA-256 streams, and what a damaged zstd stream does.</summary>
public sealed class DumpCodecTests
{
    private static readonly byte[] Dump = [.. Enumerable.Range(0, 3_000_000).Select(i => (byte)(i % 4096 < 64 ? i * 7 : 0))];

    [Fact]
    public async Task Compressed_dumps_decode_to_the_same_bytes_and_digest()
    {
        var compressed = await CompressAsync(Dump);

        Assert.True(compressed.Length * 5 < Dump.Length, $"{compressed.Length} bytes for {Dump.Length}");
        using var decoded = new MemoryStream();
        var sha256 = await DumpCodec.CopyWithDigestAsync(DumpCodec.Decompress(new MemoryStream(compressed)), decoded, CancellationToken.None);
        Assert.Equal(Dump, decoded.ToArray());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Dump)), sha256);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("corrupt")]
    [InlineData("not zstd")]
    [InlineData("empty")]
    public async Task A_damaged_stream_fails_as_corrupt_instead_of_ending_early(string damage)
    {
        var compressed = await CompressAsync(Dump);
        var damaged = damage switch
        {
            "truncated" => compressed[..(compressed.Length / 2)],
            "corrupt" => [.. compressed[..20], .. compressed[20..].Select(b => (byte)~b)],
            "empty" => [],
            _ => RandomNumberGenerator.GetBytes(10_000),
        };

        var error = await Record.ExceptionAsync(() => DumpCodec.CopyWithDigestAsync(DumpCodec.Decompress(new MemoryStream(damaged)), Stream.Null, CancellationToken.None));

        Assert.NotNull(error);
        Assert.True(DumpCodec.IsCorrupt(error), error.ToString());
    }

    [RequiresProgramFact("zstd", "apt-get install zstd")]
    public async Task The_zstd_tool_reads_what_the_store_writes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"heapdiag-codec-{Guid.NewGuid():N}.zst");
        try
        {
            await File.WriteAllBytesAsync(path, await CompressAsync(Dump));
            using var zstd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("zstd", ["-d", "-c", path]) { RedirectStandardOutput = true })!;
            using var decoded = new MemoryStream();
            await zstd.StandardOutput.BaseStream.CopyToAsync(decoded);
            await zstd.WaitForExitAsync();

            Assert.Equal(0, zstd.ExitCode);
            Assert.Equal(Dump, decoded.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<byte[]> CompressAsync(byte[] content)
    {
        using var output = new MemoryStream();
        await using (var zstd = DumpCodec.Compress(output, content.Length, leaveOpen: true))
        {
            await zstd.WriteAsync(content);
        }

        return output.ToArray();
    }
}
