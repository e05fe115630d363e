namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The reversed graph in preorder numbers, spilled to bucket files by target range: (target, source) pairs,
/// loaded one bucket at a time and sorted by target with a counting sort.
/// </summary>
internal sealed class PredecessorBuckets
{
    /// <summary>
    /// A bucket of at most this many bytes is sorted in memory at a time (up to 256 buckets: 4 GiB of offsets and
    /// sources, a billion objects and references). It is
    /// part of the least memory any analysis with a dominator tree needs, so it is kept small: more buckets cost a few
    /// more files, not more time.
    /// </summary>
    public const long MaxBucketBytes = 16L << 20;

    private const int MaxBuckets = 256;
    private const int CancellationCheckInterval = 1 << 20;

    private readonly ScratchSpace _scratch;
    private readonly int _span;
    private readonly int _vertexCount;
    private int[]? _offsets;
    private int[]? _sources;

    private PredecessorBuckets(ScratchSpace scratch, int count, int span, int vertexCount)
    {
        _scratch = scratch;
        Count = count;
        _span = span;
        _vertexCount = vertexCount;
    }

    public int Count { get; }

    /// <summary>
    /// What the buckets of a graph of <paramref name="vertices"/> and <paramref name="edges"/> hold in memory at once:
    /// the writers' buffers while spilling, then one bucket (its offsets and sources) while it is used; at most about
    /// <see cref="MaxBucketBytes"/>, less for a small graph (one bucket of that graph's size).
    /// </summary>
    public static long BucketBytes(long vertices, long edges)
    {
        var count = BucketCount(vertices, edges);
        var oneBucket = (((vertices + count - 1) / count) + 1 + ((edges + count - 1) / count)) * sizeof(int);
        return Math.Max(oneBucket, count * (long)WriterBufferInts(count) * sizeof(int));
    }

    /// <summary>
    /// Spills every recorded reference between two distinct live objects, as (target, source) preorder numbers, to the
    /// bucket of its target, then deletes the recording; references to objects that are not live (unreadable) are left out.
    /// </summary>
    /// <param name="graph">The recorded graph.</param>
    /// <param name="live">The mark bitmap, indexed.</param>
    /// <param name="numbers">Preorder number by dense number.</param>
    /// <param name="cancellationToken">Checked about every million references.</param>
    public static PredecessorBuckets Write(PreorderGraph graph, ObjectBitmap live, IntArray numbers, CancellationToken cancellationToken)
    {
        var scratch = graph.Scratch;
        var vertexCount = graph.VertexCount;
        var number = numbers.Span;
        var count = BucketCount(vertexCount, graph.EdgeCount);
        var span = (int)(((long)vertexCount + count - 1) / count);
        var writers = new IntFileWriter[count];
        var written = false;
        try
        {
            for (var b = 0; b < count; b++)
            {
                writers[b] = new IntFileWriter(scratch.PathOf(FileName(b)), WriterBufferInts(count));
            }

            using var edges = scratch.OpenReader(PreorderGraph.EdgesFile);
            long read = 0;
            while (edges.TryRead(out var source))
            {
                var index = live.IndexOf((ulong)edges.ReadLong());
                if ((++read & (CancellationCheckInterval - 1)) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var target = index < 0 ? 0 : number[(int)index];
                if (target > DominatorTree.Root && target != source)
                {
                    var writer = writers[(target - 1) / span];
                    writer.Write(target);
                    writer.Write(source);
                }
            }

            written = true;
        }
        finally
        {
            // After a failure (a full disk) the buffers are not written: the files are deleted with the scratch space.
            foreach (var writer in writers)
            {
                if (written)
                {
                    writer?.Dispose();
                }
                else
                {
                    writer?.Abandon();
                }
            }
        }

        scratch.Delete(PreorderGraph.EdgesFile);
        return new PredecessorBuckets(scratch, count, span, vertexCount);
    }

    /// <summary>
    /// Bucket <paramref name="bucket"/>: its vertex range and, per vertex v, sources[offsets[v − first] .. offsets[v − first + 1]).
    /// The arrays are reused from bucket to bucket (grown when a bucket is larger), so loading all of them
    /// leaves no garbage behind.
    /// </summary>
    public (int First, int Last, int[] Offsets, int[] Sources) Load(int bucket)
    {
        var first = (bucket * _span) + 1;
        var last = Math.Min(_vertexCount, first + _span - 1);
        var offsets = _offsets ??= new int[_span + 1];
        Array.Clear(offsets);
        var pairs = 0;
        using (var reader = _scratch.OpenReader(FileName(bucket)))
        {
            while (reader.TryRead(out var target))
            {
                reader.Read();
                offsets[target - first]++;
                pairs++;
            }
        }

        // Counts to end offsets; filling backwards turns each into its start.
        for (var i = 1; i < offsets.Length; i++)
        {
            offsets[i] += offsets[i - 1];
        }

        if (_sources is null || _sources.Length < pairs)
        {
            _sources = null;
            _sources = new int[pairs];
        }

        var sources = _sources;
        using (var reader = _scratch.OpenReader(FileName(bucket)))
        {
            while (reader.TryRead(out var target))
            {
                sources[--offsets[target - first]] = reader.Read();
            }
        }

        _scratch.Delete(FileName(bucket));
        return (first, last, offsets, sources);
    }

    /// <summary>Lets the buffers go once the last bucket has been used.</summary>
    public void ReleaseBuffers()
    {
        _offsets = null;
        _sources = null;
    }

    /// <summary>
    /// Enough buckets that each holds at most <see cref="MaxBucketBytes"/> of offsets (one per vertex of its range) and
    /// sources (one per reference to it). The vertices count too: the recording leaves out the tree edges, so a heap
    /// that is mostly one tree (a long list) has few references and as many vertices as ever.
    /// </summary>
    private static int BucketCount(long vertices, long edges) =>
        (int)Math.Clamp((((vertices * sizeof(int)) + (edges * 2 * sizeof(int))) / MaxBucketBytes) + 1, 1, MaxBuckets);

    private static int WriterBufferInts(int buckets) => buckets > 16 ? 16 * 1024 : 64 * 1024;

    private static string FileName(int bucket) => $"preds.{bucket}";
}
