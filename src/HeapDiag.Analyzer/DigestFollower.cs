using System.Globalization;
using System.Security.Cryptography;

namespace HeapDiag.Analyzer;

/// <summary>
/// <c>digest --follow PATH</c>: the SHA-256 of a dump computed while the runtime's dump writer writes it. The writer
/// (createdump) writes its file strictly in order — one <c>write</c> after another, no seeks — while every thread of
/// the app is suspended, so only another process can read it as it grows. This one does: it waits for the file,
/// hashes whatever has been written, and when the app sends <c>end LENGTH</c> on standard input (the writer is done),
/// hashes up to that length and prints <c>sha256 HEX</c>. The dump is never read a second time.
/// </summary>
internal static class DigestFollower
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(5);

    public static int Run(string path)
    {
        long end = -1;
        var input = new Thread(() => end = ReadEnd()) { IsBackground = true, Name = "end reader" };
        input.Start();
        using var file = OpenWhenCreated(path, () => Volatile.Read(ref end));
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long hashed = 0;
        while (true)
        {
            var known = Volatile.Read(ref end);
            if (known == -2)
            {
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
            hashed += read;
        }

        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sha256 {Convert.ToHexStringLower(sha256.GetHashAndReset())}"));
        return AnalyzerProtocol.ExitCodes.Success;
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
