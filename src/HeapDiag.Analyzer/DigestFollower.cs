using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace HeapDiag.Analyzer;

/// <summary>
/// <c>digest --follow PATH [--zstd OUT]</c>: the SHA-256 of a dump, and its zstd form when asked, computed while the
/// runtime's dump writer writes it. The writer (createdump) writes its file strictly in order — one <c>write</c> after
/// another, no seeks — while every thread of the app is suspended, so only another process can read it as it grows.
/// This one does: it waits for the file, hashes (and compresses) whatever has been written, and when the app sends
/// <c>end LENGTH</c> on standard input (the writer is done), finishes up to that length, closes OUT and prints
/// <c>sha256 HEX</c>. The dump is never read a second time.
/// </summary>
internal static class DigestFollower
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

    public static int Run(string path, string? packedPath)
    {
        // The app stays frozen until createdump finishes, so createdump comes first: at the lowest CPU priority (nice 19
        // on Linux, for this thread and the threads it starts from here on), the follower takes only the cores createdump
        // leaves idle, and all of them once it is done.
        using (var self = Process.GetCurrentProcess())
        {
            self.PriorityClass = ProcessPriorityClass.Idle;
        }

        long end = -1;
        var input = new Thread(() => end = ReadEnd()) { IsBackground = true, Name = "end reader" };
        input.Start();
        using var file = OpenWhenCreated(path, () => Volatile.Read(ref end));
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var packed = packedPath is null ? null : Compress(packedPath);
        var buffer = new byte[1 << 20];
        long hashed = 0;
        while (true)
        {
            var known = Volatile.Read(ref end);
            if (known == -2)
            {
                // Nobody will use a half-written zstd form.
                if (packed is not null)
                {
                    packed.Dispose();
                    File.Delete(packedPath!);
                }

                return AnalyzerProtocol.ExitCodes.ParentGone;
            }

            if (known >= 0 && hashed >= known)
            {
                break;
            }

            var read = file.Read(buffer, 0, known >= 0 ? (int)Math.Min(buffer.Length, known - hashed) : buffer.Length);
            if (read == 0)
            {
                // Caught up with the writer (or the file is shorter than the app said): wait for more.
                Thread.Sleep(Poll);
                continue;
            }

            sha256.AppendData(buffer, 0, read);
            packed?.Write(buffer, 0, read);
            hashed += read;
        }

        // Ends the zstd frame and closes OUT before answering: the app uses OUT as soon as it reads the digest.
        packed?.Dispose();
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sha256 {Convert.ToHexStringLower(sha256.GetHashAndReset())}"));
        return AnalyzerProtocol.ExitCodes.Success;
    }

    /// <summary>
    /// zstd level 1 on one worker thread, with zstd's checksum; the size is not known yet. Level 1 keeps up with createdump
    /// on what it leaves of 2 cores (1/10 of the dump's size, as level 3); level 3 on two workers, what the store uses
    /// after the writer, needs about twice the CPU time.
    /// </summary>
    private static CompressionStream Compress(string packedPath)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        // Not leaveOpen (ZstdSharp's default): disposing the zstd stream must close the file too, or the frame's last
        // bytes stay in the FileStream's buffer, which nothing flushes before this process exits. The app ships OUT as
        // it is when the digest arrives, and got a truncated frame whenever the last write was shorter than that buffer.
        var zstd = new CompressionStream(new FileStream(packedPath, options), 1, 1 << 20, leaveOpen: false);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, 1);
        return zstd;
    }

    /// <summary>The length the app sends when the writer is done (<c>end LENGTH</c>); −2 when standard input closes first (the app is gone).</summary>
    private static long ReadEnd()
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line.StartsWith("end ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return length;
            }
        }

        return -2;
    }

    private static FileStream OpenWhenCreated(string path, Func<long> end)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            }
            catch (FileNotFoundException) when (end() == -1)
            {
                Thread.Sleep(Poll);
            }
        }
    }
}
