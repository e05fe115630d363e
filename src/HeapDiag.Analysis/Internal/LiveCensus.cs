using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Tallies live objects as the mark pass reaches them: by type (on <see cref="HeapType"/>), by generation, and live
/// strings by value.
/// </summary>
internal sealed class LiveCensus : ILiveObjectObserver
{
    /// <summary>Generation names, in the order summaries list them.</summary>
    private static readonly IReadOnlyList<string> GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh", "frozen"];

    private readonly IReadOnlyList<ClrSegment> _segments;
    private readonly ObjectBitmap _segmentLookup;
    private readonly int[] _generationOfSegment;
    private readonly long[] _generationObjects = new long[GenerationNames.Count];
    private readonly long[] _generationBytes = new long[GenerationNames.Count];

    /// <param name="dump">The dump being analysed.</param>
    /// <param name="segmentLookup">Any bitmap of the dump: only its address → segment lookup is used.</param>
    /// <param name="maxDistinctStrings">Bound for duplicate-string tracking.</param>
    public LiveCensus(DumpSession dump, ObjectBitmap segmentLookup, int maxDistinctStrings)
    {
        _segments = dump.Segments;
        _segmentLookup = segmentLookup;
        Strings = new DuplicateStringCounter(dump.Memory, maxDistinctStrings);

        // With regions every segment holds one generation; -1 marks a pre-regions ephemeral segment that holds several.
        _generationOfSegment = _segments
            .Select(s => s.Kind == GCSegmentKind.Ephemeral ? -1 : IndexOfGeneration(DumpSession.GenerationOf(s, s.Start)))
            .ToArray();
    }

    public DuplicateStringCounter Strings { get; }

    /// <summary>
    /// Whether live strings are counted by value as the mark pass reaches them (a summary's duplicate strings); leak
    /// suspects leave it off, and <see cref="LiveHeap.CountAllObjects(CancellationToken)"/> counts them afterwards if a summary follows.
    /// </summary>
    public bool CountsStrings { get; set; } = true;

    public long Objects { get; private set; }

    public long Bytes { get; private set; }

    public void OnLiveObject(ulong address, HeapType type, ulong size)
    {
        Objects++;
        Bytes += (long)size;
        type.LiveCount++;
        type.LiveBytes += (long)size;

        var segment = _segmentLookup.FindRange(address);
        if (segment >= 0)
        {
            var generation = _generationOfSegment[segment];
            if (generation < 0)
            {
                generation = IndexOfGeneration(DumpSession.GenerationOf(_segments[segment], address));
            }

            _generationObjects[generation]++;
            _generationBytes[generation] += (long)size;
        }

        if (type.IsString && CountsStrings)
        {
            Strings.Add(address, size);
        }
    }

    public IReadOnlyList<GenerationStats> Generations() =>
        [.. GenerationNames.Select((name, i) => new GenerationStats(name, _generationObjects[i], _generationBytes[i]))];

    private static int IndexOfGeneration(string name)
    {
        for (var i = 0; i < GenerationNames.Count; i++)
        {
            if (GenerationNames[i] == name)
            {
                return i;
            }
        }

        return 2;
    }
}
