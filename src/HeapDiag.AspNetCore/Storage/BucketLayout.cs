using System.Globalization;
using System.Reflection;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// How every provider names and describes objects: <c>{Prefix}/{app}/{processId}-{sessionId}/heapdump-{id}.dmp.zst</c>
/// (<c>.dmp</c> uncompressed) with <c>heapdump-{id}.diagnostics.json</c> beside it, and metadata that lets an operator
/// pick a dump without downloading it, plus its digest.
/// </summary>
internal sealed class BucketLayout(BucketEgressOptions settings, ProcessInstance instance, IHostEnvironment? environment, string? appName = null)
{
    public const string Sha256Metadata = "sha256";

    // A listing stops at 100 000 objects: past that the bucket needs a lifecycle rule, not a longer list.
    public const int MaxListedObjects = 100_000;

    /// <summary>What the instance record of every process is called, in its own folder.</summary>
    public const string InstanceRecordName = "instance.json.zst";

    /// <summary><c>{Prefix}/</c> (empty without a prefix): where every app's folder is, for the fleet view.</summary>
    public string RootPrefix { get; } = $"{(settings.Prefix ?? string.Empty).Trim('/')}/".TrimStart('/');

    /// <summary>The app's folder name: <c>HeapDiagnostics:AppName</c>, else the host's application name (the app's assembly name even under a test host).</summary>
    public string AppName { get; } = FolderName(string.IsNullOrWhiteSpace(appName) ? environment?.ApplicationName ?? Assembly.GetEntryAssembly()?.GetName().Name ?? "app" : appName);

    /// <summary><c>{Prefix}/{app}/</c>.</summary>
    public string AppPrefix => $"{RootPrefix}{AppName}/";

    /// <summary><c>{Prefix}/{app}/{instance}/instance.json.zst</c>: this process's record for the fleet view.</summary>
    public string InstanceRecordKey => $"{AppPrefix}{InstanceFolder}/{InstanceRecordName}";

    /// <summary>A name as a folder: letters, digits, <c>.</c>, <c>-</c>, <c>_</c>; anything else becomes <c>-</c>.</summary>
    public static string FolderName(string name) => string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-'));

    /// <summary>Every object of a dump: the dump, its diagnostics and its compressed results; deleted together.</summary>
    public static IEnumerable<string> ObjectsOf(RemoteHeapDump dump) =>
        new[] { dump.Key, dump.DiagnosticsKey, ResultKey(dump.Key, DumpEvent.Suspects), ResultKey(dump.Key, DumpEvent.LeakReport) }.OfType<string>();

    /// <summary>A result object of the dump object <paramref name="dumpKey"/>, compressed beside it: <c>heapdump-{id}.{name}.json.zst</c>.</summary>
    public static string ResultKey(string dumpKey, string name) => string.Concat(dumpKey.AsSpan(0, dumpKey.LastIndexOf(".dmp", StringComparison.Ordinal)), $".{name}.json.zst");

    public string InstanceFolder { get; } = $"{instance.ProcessId.ToString(CultureInfo.InvariantCulture)}-{instance.SessionId}";

    public string DumpKey(HeapDumpId id, bool compressed) => $"{AppPrefix}{InstanceFolder}/{id.DumpFileName}{(compressed ? ".zst" : string.Empty)}";

    public static string DiagnosticsKey(string dumpKey) => string.Concat(dumpKey.AsSpan(0, dumpKey.LastIndexOf(".dmp", StringComparison.Ordinal)), ".diagnostics.json");

    /// <summary>
    /// The object's metadata. <paramref name="separator"/> joins words: S3 takes <c>dump-number</c>, Azure only names that
    /// are C# identifiers (<c>dump_number</c>).
    /// </summary>
    public Dictionary<string, string> Metadata(StoredHeapDump dump, MemoryDiagnostics diagnostics, char separator) => new(StringComparer.Ordinal)
    {
        ["trigger"] = dump.Id.Trigger,
        [$"dump{separator}number"] = dump.Id.DumpNumber.ToString(CultureInfo.InvariantCulture),
        [$"dump{separator}type"] = dump.Id.Type,
        ["instance"] = InstanceFolder,
        [$"machine{separator}name"] = string.Concat(Environment.MachineName.Select(c => c is >= ' ' and <= '~' ? c : '?')),
        [$"working{separator}set{separator}bytes"] = diagnostics.MemoryUsage.WorkingSetBytes.ToString(CultureInfo.InvariantCulture),
        [$"gc{separator}heap{separator}size{separator}bytes"] = diagnostics.MemoryUsage.GcHeapSizeBytes.ToString(CultureInfo.InvariantCulture),
        [Sha256Metadata] = dump.Sha256 ?? string.Empty,
        [SizeMetadata(separator)] = dump.SizeBytes.ToString(CultureInfo.InvariantCulture),
    };

    public static string SizeMetadata(char separator) => $"size{separator}bytes";

    /// <summary>The raw dump's size from metadata read back; null for objects without it.</summary>
    public static long? SizeOf(IDictionary<string, string> metadata, char separator) =>
        metadata.TryGetValue(SizeMetadata(separator), out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;

    /// <summary>The dumps among the listed objects (key → stored bytes), each with its diagnostics when listed too, newest first.</summary>
    public IReadOnlyList<RemoteHeapDump> Catalog(IReadOnlyDictionary<string, long> objects) =>
        [.. objects.Select(item => ParseKey(item.Key) is { } id ? new RemoteHeapDump(id, item.Key, objects.ContainsKey(DiagnosticsKey(item.Key)) ? DiagnosticsKey(item.Key) : null, item.Value) : null)
            .OfType<RemoteHeapDump>().OrderByDescending(dump => dump.Id.CreatedUtc)];

    /// <summary>The file name a download URL offers: the object's last segment.</summary>
    public static string FileName(string key) => key[(key.LastIndexOf('/') + 1)..];

    /// <summary>The id in <c>{appPrefix}{instance}/heapdump-{id}.dmp[.zst]</c>; null for any key HeapDiag did not write.</summary>
    private HeapDumpId? ParseKey(string key)
    {
        var extension = key.EndsWith(".zst", StringComparison.Ordinal) ? $"{HeapDumpId.DumpExtension}.zst" : HeapDumpId.DumpExtension;
        var parts = key.StartsWith(AppPrefix, StringComparison.Ordinal) ? key[AppPrefix.Length..].Split('/') : [];
        return parts is [{ Length: > 0 }, var name] ? HeapDumpId.FromFileName(name, extension) : null;
    }
}
