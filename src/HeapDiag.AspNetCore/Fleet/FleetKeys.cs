using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// Sorts the keys under <c>{Prefix}/</c>: instance records and dumps HeapDiag wrote, and everything else. Total: a key of any
/// shape is sorted, never an exception, since anyone with write access may put anything in a bucket.
/// </summary>
internal static class FleetKeys
{
    /// <summary>The instance records (key → app, instance), the dumps (key → app, instance, id), and how many keys are not HeapDiag's.</summary>
    public static (Dictionary<string, (string App, string Instance)> Records, List<(string App, string Instance, HeapDumpId Id, string Key)> Dumps, int Ignored) Sort(
        string rootPrefix, IEnumerable<string> keys)
    {
        var (records, dumps, ignored) = (new Dictionary<string, (string, string)>(StringComparer.Ordinal), new List<(string, string, HeapDumpId, string)>(), 0);
        foreach (var key in keys)
        {
            var parts = key.StartsWith(rootPrefix, StringComparison.Ordinal) ? key[rootPrefix.Length..].Split('/') : [];
            if (parts is not [var app, var instance, var name] || !IsFolder(app) || !IsFolder(instance))
            {
                ignored++;
            }
            else if (name == BucketLayout.InstanceRecordName)
            {
                records[key] = (app, instance);
            }
            else if ((HeapDumpId.FromFileName(name, HeapDumpId.DumpExtension) ?? HeapDumpId.FromFileName(name, $"{HeapDumpId.DumpExtension}.zst")) is { } id)
            {
                dumps.Add((app, instance, id, key));
            }
            else if (!IsDumpSideObject(name))
            {
                ignored++;
            }
        }

        return (records, dumps, ignored);
    }

    private static bool IsFolder(string name) => name.Length is > 0 and <= 128 && BucketLayout.FolderName(name) == name;

    /// <summary><c>heapdump-{id}.diagnostics.json</c>, <c>heapdump-{id}.suspects.json.zst</c>, …: a dump's companions.</summary>
    private static bool IsDumpSideObject(string name)
    {
        var end = name.EndsWith(".json", StringComparison.Ordinal) ? ".json".Length : name.EndsWith(".json.zst", StringComparison.Ordinal) ? ".json.zst".Length : 0;
        var dot = end == 0 ? -1 : name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && HeapDumpId.FromFileName(name[..dot] + HeapDumpId.DumpExtension, HeapDumpId.DumpExtension) is not null;
    }
}
