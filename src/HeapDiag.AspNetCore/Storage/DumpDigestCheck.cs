using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// Whether a local dump is still the file its SHA-256 was recorded for at capture (or at its fetch from the bucket),
/// before an analysis or a download trusts it. Hashing reads the whole file at disk speed, so it is done once per dump
/// and remembered with the file's size and modification time: a file changed since is hashed again, an unchanged one
/// costs a stat. Dumps the store has just written or fetched are trusted as they are, since they were hashed on the way.
/// </summary>
internal sealed partial class DumpDigestCheck(TimeProvider time, ILogger logger)
{
    private const int ReadBufferBytes = 1 << 20;

    private readonly ConcurrentDictionary<string, Verdict> _verdicts = new(StringComparer.Ordinal);

    // One file hashed at a time: two at once would share the disk and take as long, each holding a request.
    private readonly SemaphoreSlim _hashing = new(1, 1);

    /// <summary>Remembers <paramref name="path"/> as matching <paramref name="sha256"/> as it is now.</summary>
    public void Trust(string path, string sha256)
    {
        if (Stat(path) is { } stat)
        {
            _verdicts[path] = new Verdict(stat, sha256, sha256);
        }
    }

    /// <summary>
    /// Null when the dump at <paramref name="path"/> matches <paramref name="expected"/> (or no digest was recorded, or
    /// the file is gone: the caller's own lookup reports that); otherwise one sentence saying what no longer matches.
    /// </summary>
    public async Task<string?> CheckAsync(string path, string? expected, CancellationToken cancellationToken)
    {
        if (expected is null || Stat(path) is not { } stat)
        {
            return null;
        }

        var verdict = Known(path, stat, expected);
        if (verdict is null)
        {
            await _hashing.WaitAsync(cancellationToken);
            try
            {
                // Another request may have hashed it while this one waited.
                verdict = Known(path, stat, expected) ?? await HashAsync(path, stat, expected, cancellationToken);
            }
            finally
            {
                _hashing.Release();
            }
        }

        return verdict is null || string.Equals(verdict.Actual, expected, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"Its SHA-256 no longer matches the one recorded at capture: it was modified or damaged on disk (recorded {expected}, now {verdict.Actual}).";
    }

    /// <summary>Forgets a dump (deleted, or replaced by a new copy).</summary>
    public void Forget(string path) => _verdicts.TryRemove(path, out _);

    private Verdict? Known(string path, FileStat stat, string expected) =>
        _verdicts.TryGetValue(path, out var known) && known.Stat == stat && known.Expected == expected ? known : null;

    private async Task<Verdict?> HashAsync(string path, FileStat stat, string expected, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        byte[] digest;
        try
        {
            digest = await HashFileAsync(path, cancellationToken);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var verdict = new Verdict(stat, expected, Convert.ToHexStringLower(digest));
        var elapsed = time.GetElapsedTime(started);
        LogHashed(logger, Path.GetFileName(path), stat.Length, elapsed.TotalMilliseconds, Rate(stat.Length, elapsed), verdict.Actual == expected.ToLowerInvariant());

        // A file that changed while it was read is hashed again next time rather than remembered half-right.
        if (Stat(path) == stat)
        {
            _verdicts[path] = verdict;
        }

        return verdict;
    }

    /// <summary>
    /// SHA-256 of the file, reading the next block while the current one is hashed: one thread reads (a read of a file
    /// opened for synchronous I/O runs on the thread pool), this one hashes, so the check takes as long as the slower of
    /// the two instead of their sum. Two 1 MiB buffers are all the memory it holds.
    /// </summary>
    private static async Task<byte[]> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[][] buffers = [new byte[ReadBufferBytes], new byte[ReadBufferBytes]];
        long offset = 0;
        var current = 0;
        var reading = RandomAccess.ReadAsync(handle, buffers[current], offset, cancellationToken);
        while (await reading is var bytes and > 0)
        {
            offset += bytes;
            reading = RandomAccess.ReadAsync(handle, buffers[1 - current], offset, cancellationToken);
            hash.AppendData(buffers[current], 0, bytes);
            current = 1 - current;
        }

        return hash.GetHashAndReset();
    }

    private static string Rate(long bytes, TimeSpan elapsed) =>
        (bytes / 1e6 / Math.Max(elapsed.TotalSeconds, 1e-3)).ToString("0", CultureInfo.InvariantCulture);

    private static FileStat? Stat(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? new FileStat(file.Length, file.LastWriteTimeUtc.Ticks) : null;
    }

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Checked the SHA-256 of {DumpFile} ({SizeBytes} bytes) in {DurationMs:0} ms ({MegabytesPerSecond} MB/s): {Matches}")]
    private static partial void LogHashed(ILogger logger, string dumpFile, long sizeBytes, double durationMs, string megabytesPerSecond, bool matches);

    private readonly record struct FileStat(long Length, long LastWriteTicks);

    private sealed record Verdict(FileStat Stat, string Expected, string Actual);
}
