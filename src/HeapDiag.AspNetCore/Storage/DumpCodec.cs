using System.Security.Cryptography;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// zstd and SHA-256 over streams, a buffer at a time: never a whole dump in memory. A digest is always of the raw dump,
/// so one value checks the file on disk, the object in the bucket and a download.
/// </summary>
internal static class DumpCodec
{
    private const int BufferBytes = 1 << 20;

    /// <summary>Reads <paramref name="source"/> to its end, writing it to <paramref name="destination"/> when given; returns its SHA-256 (lower-case hex).</summary>
    public static async Task<string> CopyWithDigestAsync(Stream source, Stream? destination, CancellationToken cancellationToken)
    {
        // One 1 MiB buffer per dump-sized copy: a capture, a fetch.
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferBytes];
        for (int read; (read = await source.ReadAsync(buffer, cancellationToken)) > 0;)
        {
            sha.AppendData(buffer, 0, read);
            await (destination?.WriteAsync(buffer.AsMemory(0, read), cancellationToken) ?? ValueTask.CompletedTask);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>
    /// A stream writing zstd to <paramref name="destination"/> (disposing it ends the frame): level 3, zstd's default, on two
    /// worker threads beside the caller's reading and hashing (one worker held the read to ~370 MB/s here; more would take
    /// more cores from the app). The frame carries zstd's own checksum and, when given, the dump's size.
    /// </summary>
    public static CompressionStream Compress(Stream destination, long? sizeBytes = null, bool leaveOpen = false)
    {
        var zstd = new CompressionStream(destination, 3, BufferBytes, leaveOpen);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, 2);
        zstd.SetPledgedSrcSize(sizeBytes is { } size ? (ulong)size : ulong.MaxValue);
        return zstd;
    }

    /// <summary>
    /// A stream reading zstd from <paramref name="source"/>; a truncated stream fails at its end instead of ending early,
    /// and an empty one (a file or buffer of no bytes) fails at once.
    /// </summary>
    public static DecompressionStream Decompress(Stream source)
    {
        // zstd reads no frame at all as an empty stream; but every object the store writes holds a frame, so an empty
        // one is damage, not an empty dump.
        if (source.CanSeek && source.Length == 0)
        {
            source.Dispose();
            throw new InvalidDataException("the object is empty, with no zstd frame");
        }

        return new(source, BufferBytes, checkEndOfStream: true, leaveOpen: false);
    }

    /// <summary>A small object (a record, a result) as one zstd frame.</summary>
    public static byte[] Pack(byte[] content)
    {
        using var packed = new MemoryStream();
        using (var zstd = new CompressionStream(packed, 3, leaveOpen: true))
        {
            zstd.Write(content);
        }

        return packed.ToArray();
    }

    /// <summary>A small object unpacked; null when it is not one whole zstd frame or unpacks to more than <paramref name="maxBytes"/> (a bomb, or not ours).</summary>
    public static byte[]? TryUnpack(byte[] packed, int maxBytes)
    {
        try
        {
            using var zstd = Decompress(new MemoryStream(packed));
            using var content = new MemoryStream();
            var buffer = new byte[16 << 10];
            for (int read; (read = zstd.Read(buffer)) > 0;)
            {
                if (content.Length + read > maxBytes)
                {
                    return null;
                }

                content.Write(buffer, 0, read);
            }

            return content.ToArray();
        }
        catch (Exception ex) when (IsCorrupt(ex) || ex is IOException)
        {
            return null;
        }
    }

    /// <summary>Whether an exception says the zstd data itself is bad: corrupt, truncated, or not zstd.</summary>
    public static bool IsCorrupt(Exception exception) => exception is ZstdException or EndOfStreamException or InvalidDataException;
}
