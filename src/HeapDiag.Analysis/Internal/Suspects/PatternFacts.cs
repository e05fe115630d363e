using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// What the catalogue cannot tell from types alone, read from the dump for a suspect whose path passes through the
/// object concerned: whether an <c>IMemoryCache</c> is bounded (a <c>SizeLimit</c>, or entries that expire), as
/// Microsoft.Extensions.Caching.Memory 8–10 lay it out.
/// </summary>
internal static class PatternFacts
{
    /// <summary>The <c>MemoryCache</c> on the path has a <c>SizeLimit</c>, or every sampled entry has an expiration.</summary>
    public const string MemoryCacheBounded = "memory-cache-bounded";

    private const string MemoryCacheType = "Microsoft.Extensions.Caching.Memory.MemoryCache";

    /// <summary>Entries read to tell whether they expire: enough to see a habit, few enough to cost nothing.</summary>
    private const int SampledEntries = 50;

    /// <summary>The facts that hold for a suspect with this root path; empty when none does or the objects are unreadable.</summary>
    public static IReadOnlySet<string> Of(DumpSession dump, RootPath path)
    {
        var facts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var link in path.Links)
        {
            if (link.TypeName == MemoryCacheType)
            {
                if (IsBounded(dump.Heap.GetObject(link.Address)))
                {
                    facts.Add(MemoryCacheBounded);
                }

                break;
            }
        }

        return facts;
    }

    private static bool IsBounded(ClrObject cache)
    {
        try
        {
            var options = cache.ReadObjectField("_options");
            if (options.IsValid && !options.IsNull && options.ReadField<long>("_sizeLimit") >= 0)
            {
                return true;
            }

            var state = cache.ReadObjectField("_coherentState");
            var entries = Entries(state.ReadObjectField("_stringEntries")).Concat(Entries(state.ReadObjectField("_nonStringEntries"))).Take(SampledEntries).ToList();
            return entries.Count > 0 && entries.All(Expires);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            // A version that lays the cache out differently: matched by type, as unbounded.
            return false;
        }
    }

    /// <summary>The values of a <c>ConcurrentDictionary</c>, bucket by bucket.</summary>
    private static IEnumerable<ClrObject> Entries(ClrObject dictionary)
    {
        if (!dictionary.IsValid || dictionary.IsNull)
        {
            yield break;
        }

        var buckets = dictionary.ReadObjectField("_tables").ReadObjectField("_buckets");
        if (!buckets.IsValid || !buckets.IsArray)
        {
            yield break;
        }

        var array = buckets.AsArray();
        for (var i = 0; i < array.Length; i++)
        {
            for (var node = array.GetStructValue(i).ReadObjectField("_node"); node.IsValid && !node.IsNull; node = node.ReadObjectField("_next"))
            {
                yield return node.ReadObjectField("_value");
            }
        }
    }

    /// <summary>An absolute or sliding expiration, or expiration tokens.</summary>
    private static bool Expires(ClrObject entry) =>
        entry.ReadField<long>("_absoluteExpirationTicks") > 0
        || Ticks(entry, "_slidingExpiration") > 0
        || Ticks(entry, "_absoluteExpirationRelativeToNow") > 0
        || entry.ReadObjectField("_tokens") is { IsNull: false, IsValid: true };

    private static long Ticks(ClrObject entry, string field) => entry.ReadValueTypeField(field).ReadField<long>("_ticks");
}
