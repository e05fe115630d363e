namespace HeapDiag.Analysis.Internal.Runtime;

/// <summary>Counts objects and bytes by type name, for the top few of a list.</summary>
internal sealed class TypeTally
{
    private readonly Dictionary<string, (long Count, long Bytes)> _byType = new(StringComparer.Ordinal);

    public long Count { get; private set; }

    public void Add(string? typeName, long bytes)
    {
        Count++;
        var name = typeName ?? "(unknown type)";
        var (count, total) = _byType.GetValueOrDefault(name);
        _byType[name] = (count + 1, total + bytes);
    }

    public List<TypeStats> Top(int top) =>
        [.. _byType
            .OrderByDescending(entry => entry.Value.Count)
            .ThenBy(entry => entry.Key, StringComparer.Ordinal)
            .Take(top)
            .Select(entry => new TypeStats(entry.Key, entry.Value.Count, entry.Value.Bytes))];
}
