namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// The samples of the asked-for types, by distinct stack of return addresses, until the rundown at the end of the
/// trace can name the methods. Only the asked-for types are kept, so memory grows with the distinct stacks that
/// allocate them, not with the trace.
/// </summary>
internal sealed class SampledStacks(int typeCount)
{
    /// <summary>Beyond this many distinct stacks, further new stacks are counted without their frames.</summary>
    public const int MaxDistinctStacks = 50_000;

    private readonly Dictionary<StackKey, int> _ids = [];
    private readonly List<ulong[]> _stacks = [];
    private readonly Dictionary<int, (long Samples, double Bytes)>[] _byType = [.. Enumerable.Range(0, typeCount).Select(_ => new Dictionary<int, (long, double)>())];
    private readonly HashSet<string>[] _matched = [.. Enumerable.Range(0, typeCount).Select(_ => new HashSet<string>(StringComparer.Ordinal))];

    /// <summary>Samples of any type, asked for or not.</summary>
    public long TotalSamples { get; private set; }

    public IReadOnlyList<ulong[]> Stacks => _stacks;

    public void CountOther() => TotalSamples++;

    public void Add(int type, string runtimeName, List<ulong> frames, double bytes)
    {
        TotalSamples++;
        _matched[type].Add(runtimeName);
        var id = Intern(frames);
        var counts = _byType[type];
        counts[id] = counts.TryGetValue(id, out var sofar) ? (sofar.Samples + 1, sofar.Bytes + bytes) : (1, bytes);
    }

    public IReadOnlyDictionary<int, (long Samples, double Bytes)> For(int type) => _byType[type];

    public IReadOnlyCollection<string> Matched(int type) => _matched[type];

    private int Intern(List<ulong> frames)
    {
        var key = new StackKey([.. frames]);
        if (_ids.TryGetValue(key, out var id))
        {
            return id;
        }

        if (_stacks.Count >= MaxDistinctStacks)
        {
            key = new StackKey([]);
            if (_ids.TryGetValue(key, out id))
            {
                return id;
            }
        }

        id = _stacks.Count;
        _stacks.Add(key.Frames);
        _ids[key] = id;
        return id;
    }

    private readonly record struct StackKey(ulong[] Frames)
    {
        public bool Equals(StackKey other) => Frames.AsSpan().SequenceEqual(other.Frames);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var frame in Frames)
            {
                hash.Add(frame);
            }

            return hash.ToHashCode();
        }
    }
}
