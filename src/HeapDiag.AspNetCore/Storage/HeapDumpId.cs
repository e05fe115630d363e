using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// A dump's id, which is also the stem of its file names: UTC time, process id, trigger, dump number and type,
/// for example <c>20261124T011500123Z-2477-manual-0-heap</c>. Ids from clients are accepted only when they match
/// this pattern exactly, so nothing a client sends ever becomes a path.
/// </summary>
internal sealed partial record HeapDumpId(DateTimeOffset CreatedUtc, int ProcessId, string Trigger, int DumpNumber, string Type) : IParsable<HeapDumpId>
{
    private const string TimestampFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    /// <summary>The longest id the pattern can produce; longer input is rejected before the regex runs.</summary>
    private const int MaxLength = 64;

    /// <summary>What every file name of a dump starts with, on disk and in the bucket.</summary>
    public const string FilePrefix = "heapdump-";

    /// <summary>The dump file's extension (the bucket adds <c>.zst</c> to a compressed one).</summary>
    public const string DumpExtension = ".dmp";

    /// <summary>The dump's file name: <c>heapdump-{id}.dmp</c>.</summary>
    public string DumpFileName => $"{FilePrefix}{this}{DumpExtension}";

    /// <summary>The id in a file name <c>heapdump-{id}{extension}</c>; null for any other name.</summary>
    public static HeapDumpId? FromFileName(string fileName, string extension) =>
        fileName.StartsWith(FilePrefix, StringComparison.Ordinal) && fileName.EndsWith(extension, StringComparison.Ordinal)
        && fileName.Length > FilePrefix.Length + extension.Length && TryParse(fileName[FilePrefix.Length..^extension.Length], out var id)
            ? id
            : null;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{CreatedUtc.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture)}-{ProcessId}-{Trigger}-{DumpNumber}-{Type}");

    public static HeapDumpId Parse(string s, IFormatProvider? provider) =>
        TryParse(s, provider, out var id) ? id : throw new FormatException($"'{s}' is not a heap dump id.");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out HeapDumpId result) => TryParse(s, out result);

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out HeapDumpId? id)
    {
        var match = text is { Length: <= MaxLength } ? IdPattern().Match(text) : Match.Empty;
        id = match.Success
            && DateTime.TryParseExact(match.Groups["time"].Value, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var created)
            && int.TryParse(match.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var processId)
            && int.TryParse(match.Groups["number"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var dumpNumber)
            ? new HeapDumpId(new DateTimeOffset(created, TimeSpan.Zero), processId, match.Groups["trigger"].Value, dumpNumber, match.Groups["type"].Value)
            : null;
        return id is not null;
    }

    [GeneratedRegex(@"^(?<time>\d{8}T\d{9}Z)-(?<pid>\d{1,9})-(?<trigger>manual|auto)-(?<number>\d{1,6})-(?<type>" + HeapDumpTypes.Pattern + @")\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex IdPattern();
}
