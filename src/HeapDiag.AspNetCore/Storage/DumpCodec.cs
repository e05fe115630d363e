using System.Buffers;
using System.Security.Cryptography;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// zstd and SHA-256 over streams, a buffer at a time: never a whole dump in memory. Digests are always of the
/// uncompressed dump, so the same value verifies the file on disk, the object in the bucket and a download.
/// </summary>
internal static class DumpCodec
{
    private const int BufferBytes = 1 << 20;

    // Level 3 is zstd's default: a 605 MB heap dump went to 16.7 MB. One worker thread compresses while the caller
    // reads and hashes, so the two overlap without taking both cores of a small machine from the app.
    private const int Level = 3;

    /// <summary>
    /// Reads <paramref name="source"/> to its end once, hashing it, and writes it to <paramref name="destination"/> when
    /// one is given (a file, or a <see cref="Compress"/> stream). Returns the SHA-256 in lower-case hex.
    /// </summary>
    public static async Task<string> CopyWithDigestAsync(Stream source, Stream? destination, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferBytes), cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                if (destination is not null)
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>
    /// A stream that writes zstd to <paramref name="destination"/>; disposing it ends the frame. The frame carries
    /// zstd's own checksum, so a decoder notices corruption even where no SHA-256 is at hand.
    /// </summary>
    public static CompressionStream Compress(Stream destination, long? sizeBytes = null, bool leaveOpen = false)
    {
        var zstd = new CompressionStream(destination, Level, BufferBytes, leaveOpen);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, 1);
        if (sizeBytes is { } size)
        {
            // Recorded in the frame header, so `zstd -l` shows the dump's size.
            zstd.SetPledgedSrcSize((ulong)size);
        }

        return zstd;
    }

    /// <summary>A stream that reads zstd from <paramref name="source"/>; a truncated stream fails at its end instead of ending early.</summary>
    public static DecompressionStream Decompress(Stream source) => new(source, BufferBytes, checkEndOfStream: true, leaveOpen: false);

    /// <summary>Whether an exception says the zstd data itself is bad (corrupt, truncated, not zstd).</summary>
    public static bool IsCorrupt(Exception exception) => exception is ZstdException or EndOfStreamException or InvalidDataException;
}
