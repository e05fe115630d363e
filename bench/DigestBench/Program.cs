// Times the store's digest check on one file, as an analysis or a download makes it: the first check hashes the whole
// file (SHA-256, 1 MiB reads), the next ones find the verdict by size and modification time. Prints one JSON line.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging.Abstractions;

var path = args[0];
var bytes = new FileInfo(path).Length;

// The digest the check compares with: a wrong one would make the first check report a mismatch, not time it twice.
var expected = args.Length > 1 ? args[1] : Convert.ToHexStringLower(SHA256.HashData(File.OpenRead(path)));
var check = new DumpDigestCheck(TimeProvider.System, NullLogger.Instance);

var started = Stopwatch.GetTimestamp();
var mismatch = await check.CheckAsync(path, expected, CancellationToken.None);
var hashed = Stopwatch.GetElapsedTime(started);

const int CachedChecks = 1000;
started = Stopwatch.GetTimestamp();
for (var i = 0; i < CachedChecks; i++)
{
    await check.CheckAsync(path, expected, CancellationToken.None);
}

var cached = Stopwatch.GetElapsedTime(started);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"bytes\":{bytes},\"hashMs\":{hashed.TotalMilliseconds:F0},\"megabytesPerSecond\":{bytes / 1e6 / hashed.TotalSeconds:F0},\"cachedCheckUs\":{cached.TotalMicroseconds / CachedChecks:F1},\"matches\":{(mismatch is null ? "true" : "false")}}}"));
