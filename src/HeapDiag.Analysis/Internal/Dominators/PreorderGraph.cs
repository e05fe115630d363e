namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// The live object graph as the mark pass's depth-first search reaches it, written to scratch files: each vertex
/// (numbered in preorder) with its DFS parent, size, type and address, and each other reference as (source vertex,
/// target address). The dominator computation needs exactly this, so the dump is read once for marking and graph together.
/// </summary>
/// <remarks>
/// <para>
/// 1 is the virtual root above every GC root, 2 … <see cref="VertexCount"/> are live objects. Entry v of the vertex
/// files belongs to vertex v (entry 0 is unused). The vertices must come in the preorder of a true depth-first
/// search: a vertex is numbered when the search descends into it, from the vertex whose reference it followed. That
/// is what Lengauer–Tarjan relies on (a reference from a lower to a higher number always comes from an ancestor).
/// </para>
/// <para>
/// A reference's target is written as an address because the search does not know its number yet when it scans the
/// source; <see cref="DominatorTree"/> resolves it afterwards through the mark bitmap's rank.
/// </para>
/// <para>
/// The reference the search descended through (the tree edge) need not be added: the parent is every vertex's
/// predecessor already. Adding it as well does no harm.
/// </para>
/// </remarks>
internal sealed class PreorderGraph : IDisposable
{
    /// <summary>Each vertex's DFS parent.</summary>
    public const string ParentsFile = "parent.pre";

    /// <summary>Each vertex's own size.</summary>
    public const string SizesFile = "sizes.pre";

    /// <summary>Each vertex's type id (index into <see cref="TypeTable"/>; −1 for none).</summary>
    public const string TypesFile = "types.pre";

    /// <summary>Each vertex's address (longs).</summary>
    public const string AddressesFile = "address.pre";

    /// <summary>Each reference: source vertex (int), target address (long).</summary>
    public const string EdgesFile = "edges";

    private readonly IntFileWriter _parents;
    private readonly IntFileWriter _sizes;
    private readonly IntFileWriter _types;
    private readonly IntFileWriter _addresses;
    private readonly IntFileWriter _edges;
    private bool _complete;
    /// <param name="scratch">Where the files go.</param>
    /// <param name="typeTable">What the recorded <see cref="HeapType.Id"/>s index (<see cref="HeapObjects.Types"/>).</param>
    public PreorderGraph(ScratchSpace scratch, IReadOnlyList<HeapType> typeTable)
    {
        Scratch = scratch;
        TypeTable = typeTable;
        _parents = scratch.CreateWriter(ParentsFile);
        _sizes = scratch.CreateWriter(SizesFile);
        _types = scratch.CreateWriter(TypesFile);
        _addresses = scratch.CreateWriter(AddressesFile);
        _edges = scratch.CreateWriter(EdgesFile);

        // Entry 0 is unused, so that entry v belongs to vertex v; then the virtual root.
        WriteVertex(0, 0, 0, -1);
        WriteVertex(0, 0, 0, -1);
        VertexCount = DominatorTree.Root;
    }

    public ScratchSpace Scratch { get; }

    /// <summary>Vertices so far: the virtual root and the objects numbered.</summary>
    public int VertexCount { get; private set; }

    /// <summary>References written, each to an address that may turn out not to be a live object.</summary>
    public long EdgeCount { get; private set; }

    /// <summary>What the ids in <see cref="TypesFile"/> index.</summary>
    public IReadOnlyList<HeapType> TypeTable { get; }

    /// <summary>Numbers the object the search descends into from <paramref name="parent"/>; returns its vertex.</summary>
    public int AddVertex(int parent, ulong address, ulong size, HeapType? type)
    {
        WriteVertex(parent, address, (int)Math.Min(size, int.MaxValue), type?.Id ?? -1);
        return VertexCount = checked(VertexCount + 1);
    }

    /// <summary>A reference from vertex <paramref name="source"/> to the object at <paramref name="target"/> other than a tree edge.</summary>
    public void AddEdge(int source, ulong target)
    {
        _edges.Write(source);
        _edges.WriteLong((long)target);
        EdgeCount++;
    }

    /// <summary>Flushes and closes the files (once); nothing is added afterwards.</summary>
    public void Complete()
    {
        if (_complete)
        {
            return;
        }

        _complete = true;
        try
        {
            foreach (var writer in Writers)
            {
                writer.Dispose();
            }
        }
        catch
        {
            Abandon();
            throw;
        }
    }

    /// <summary>Closes the files of a recording that did not complete, without writing what is buffered: they are deleted next.</summary>
    public void Dispose()
    {
        if (!_complete)
        {
            _complete = true;
            Abandon();
        }
    }

    private IntFileWriter[] Writers => [_parents, _sizes, _types, _addresses, _edges];

    private void Abandon()
    {
        foreach (var writer in Writers)
        {
            writer.Abandon();
        }
    }

    private void WriteVertex(int parent, ulong address, int size, int typeId)
    {
        _parents.Write(parent);
        _sizes.Write(size);
        _types.Write(typeId);
        _addresses.WriteLong((long)address);
    }
}
