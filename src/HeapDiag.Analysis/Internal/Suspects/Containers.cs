using System.Globalization;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// What the usual containers are and what they hold: the kind of a collection type, its element type, and its
/// element count read from its own fields (<c>List&lt;T&gt;._size</c>, <c>Dictionary._count − _freeCount</c>, …),
/// as the runtime's current implementations lay them out.
/// </summary>
internal static class Containers
{
    public const string ArrayKind = "array";
    public const string EventKind = "event";
    public const string ChainKind = "chain";

    /// <summary>How far above the inside of a collection its owner is looked for.</summary>
    public const int MaxLevelsToOwner = 4;

    private static readonly (string Definition, string Kind)[] Collections =
    [
        ("System.Collections.Generic.List", "List"),
        ("System.Collections.Generic.Dictionary", "Dictionary"),
        ("System.Collections.Generic.HashSet", "HashSet"),
        ("System.Collections.Generic.Queue", "Queue"),
        ("System.Collections.Generic.Stack", "Stack"),
        ("System.Collections.Generic.LinkedList", "LinkedList"),
        ("System.Collections.Generic.SortedDictionary", "SortedDictionary"),
        ("System.Collections.Generic.SortedSet", "SortedSet"),
        ("System.Collections.Generic.SortedList", "SortedList"),
        ("System.Collections.Concurrent.ConcurrentDictionary", "ConcurrentDictionary"),
        ("System.Collections.Concurrent.ConcurrentQueue", "ConcurrentQueue"),
        ("System.Collections.Concurrent.ConcurrentBag", "ConcurrentBag"),
        ("System.Collections.Concurrent.ConcurrentStack", "ConcurrentStack"),
        ("System.Collections.ArrayList", "ArrayList"),
        ("System.Collections.Hashtable", "Hashtable"),
        ("System.Collections.Immutable.ImmutableDictionary", "ImmutableDictionary"),
        ("System.Collections.Immutable.ImmutableHashSet", "ImmutableHashSet"),
        ("System.Collections.Immutable.ImmutableList", "ImmutableList"),
    ];

    /// <summary>Most segments or per-thread queues walked to count a concurrent collection (a broken chain ends the count).</summary>
    private const int MaxLinks = 1_000_000;

    // Real class hierarchies are a few dozen deep at most.
    private const int MaxBaseTypes = 256;

    /// <summary>The collection kind of a type (<c>List</c>, <c>Dictionary</c>, …), <c>event</c> for a delegate, or null.</summary>
    public static string? CollectionKind(HeapType type)
    {
        var definition = TypeNames.Definition(type.Name);
        foreach ((var known, var kind) in Collections)
        {
            if (definition == known)
            {
                return kind;
            }
        }

        return IsDelegate(type.ClrType) ? EventKind : null;
    }

    /// <summary>The inside of a collection: an array, or a framework type of a collections namespace (entries, nodes, tables).</summary>
    public static bool IsCollectionInternal(HeapType type) =>
        type.IsArray || type.Name.StartsWith("System.Collections.", StringComparison.Ordinal);

    /// <summary>
    /// For the inside of a collection (the <c>T[]</c> of a <c>List&lt;T&gt;</c>, a dictionary's entries), how many
    /// levels up the collection that owns it is; 0 when <paramref name="type"/> is no such inside or no owner is found
    /// within <see cref="MaxLevelsToOwner"/> levels.
    /// </summary>
    /// <param name="type">The object's type.</param>
    /// <param name="above">The types above it: its holder first, then that one's holder…; null where unreadable.</param>
    public static int LevelsToOwningCollection(HeapType? type, IReadOnlyList<HeapType?> above)
    {
        if (type is null || !IsCollectionInternal(type) || CollectionKind(type) is not null)
        {
            return 0;
        }

        for (var level = 1; level <= Math.Min(MaxLevelsToOwner, above.Count); level++)
        {
            if (above[level - 1] is not { } holder)
            {
                return 0;
            }

            if (CollectionKind(holder) is not null)
            {
                return level;
            }

            if (!IsCollectionInternal(holder))
            {
                return 0;
            }
        }

        return 0;
    }

    public static bool IsDelegate(ClrType? type)
    {
        // Bounded: in a damaged dump a base type can lead back to a type below it, and the chain never ends.
        var depth = 0;
        for (var current = type; current is not null && depth < MaxBaseTypes; current = current.BaseType, depth++)
        {
            if (current.Name is "System.MulticastDelegate" or "System.Delegate")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What the object at <paramref name="address"/> holds; null for a type it does not know or fields it cannot read.</summary>
    public static CollectionContents? Describe(DumpSession dump, ulong address, HeapType type)
    {
        var obj = dump.Heap.GetObject(address);
        if (!obj.IsValid)
        {
            return null;
        }

        try
        {
            if (type.IsArray)
            {
                return new CollectionContents(ArrayKind, type.ClrType.ComponentType?.Name, obj.AsArray().Length);
            }

            var kind = CollectionKind(type);
            return kind switch
            {
                null => null,
                EventKind => DescribeEvent(obj),
                _ when Count(obj, kind) is long count => new CollectionContents(kind, TypeNames.GenericArguments(type.Name), count),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException)
        {
            // A field this runtime version names differently: no contents rather than a wrong number.
            return null;
        }
    }

    private static long? Count(ClrObject obj, string kind) => kind switch
    {
        "List" or "Queue" or "Stack" or "SortedList" or "ArrayList" => obj.ReadField<int>("_size"),
        "Dictionary" or "HashSet" => obj.ReadField<int>("_count") - obj.ReadField<int>("_freeCount"),
        "Hashtable" => obj.ReadField<int>("_count"),
        "LinkedList" or "SortedSet" => obj.ReadField<int>("count"),
        "SortedDictionary" => obj.ReadObjectField("_set").ReadField<int>("count"),
        "ConcurrentDictionary" => SumOfInts(obj.ReadObjectField("_tables").ReadObjectField("_countPerLock")),
        "ImmutableDictionary" or "ImmutableHashSet" => obj.ReadField<int>("_count"),
        "ImmutableList" => obj.ReadObjectField("_root").ReadField<int>("_count"),
        "ConcurrentBag" => SumOverChain(obj.ReadObjectField("_workStealingQueues"), "_nextQueue", queue => queue.ReadField<int>("_tailIndex") - queue.ReadField<int>("_headIndex")),
        "ConcurrentQueue" => SumOverChain(obj.ReadObjectField("_head"), "_nextSegment", SegmentCount),
        _ => null,
    };

    /// <summary>The items of one segment of a <c>ConcurrentQueue</c>: tail minus head, the freeze offset of a full segment taken off.</summary>
    private static long SegmentCount(ClrObject segment)
    {
        var headAndTail = segment.ReadValueTypeField("_headAndTail");
        var slots = segment.ReadObjectField("_slots");
        var length = slots.IsValid && slots.IsArray ? slots.AsArray().Length : int.MaxValue;
        var count = (long)headAndTail.ReadField<int>("Tail") - headAndTail.ReadField<int>("Head");
        return count > length ? count - (2L * length) : count;
    }

    /// <summary>Sums <paramref name="count"/> over a linked chain of per-thread queues or segments.</summary>
    private static long SumOverChain(ClrObject first, string next, Func<ClrObject, long> count)
    {
        long sum = 0;
        var links = 0;
        for (var link = first; link.IsValid && !link.IsNull && links < MaxLinks; link = link.ReadObjectField(next), links++)
        {
            sum += Math.Max(0, count(link));
        }

        return sum;
    }

    private static long? SumOfInts(ClrObject array)
    {
        if (!array.IsValid || !array.IsArray)
        {
            return null;
        }

        var values = array.AsArray();
        long sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values.GetValue<int>(i);
        }

        return sum;
    }

    /// <summary>A delegate: its subscribers (the invocation list of a multicast delegate, else itself) and their type.</summary>
    private static CollectionContents DescribeEvent(ClrObject handler)
    {
        var list = handler.ReadObjectField("_invocationList");
        if (list.IsValid && list.IsArray)
        {
            long count = handler.ReadField<nint>("_invocationCount");
            var delegates = list.AsArray();
            var first = delegates.Length > 0 ? delegates.GetObjectValue(0) : default;
            return new CollectionContents(EventKind, first.IsValid ? TargetType(first) : null, count);
        }

        return new CollectionContents(EventKind, TargetType(handler), 1);
    }

    private static string? TargetType(ClrObject handler)
    {
        var target = handler.ReadObjectField("_target");
        return target.IsValid && target.Type is { } type ? type.Name : null;
    }

    /// <summary>"5,999,000 items" in the word that suits the kind.</summary>
    public static string CountText(CollectionContents contents)
    {
        var noun = contents.Kind switch
        {
            "Dictionary" or "ConcurrentDictionary" or "SortedDictionary" or "SortedList" or "Hashtable" or "ImmutableDictionary" => "entries",
            EventKind => contents.Count == 1 ? "subscriber" : "subscribers",
            ArrayKind => "elements",
            ChainKind => "links",
            "List" or "HashSet" or "Queue" or "Stack" or "LinkedList" or "SortedSet" or "ArrayList" or "ConcurrentQueue" or "ConcurrentBag"
                or "ConcurrentStack" or "ImmutableHashSet" or "ImmutableList" => contents.Count == 1 ? "item" : "items",
            _ => string.Empty,
        };
        if (noun.Length == 0)
        {
            // What the runtime's structures keep is counted in its own word: "608,931 timers".
            return string.Create(CultureInfo.InvariantCulture, $"{contents.Count:N0} {contents.Kind}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{contents.Count:N0} {noun}");
    }
}
