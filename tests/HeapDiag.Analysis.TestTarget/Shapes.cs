namespace HeapDiag.Analysis.TestTarget;

/// <summary>
/// Graph shapes deeper than any call stack, grown by <see cref="Leaks.Grow"/>: <c>chain</c>, a singly linked list of
/// <see cref="ChainNode"/>s under <see cref="Chain"/>; <c>family</c>, a line of <see cref="FamilyNode"/>s where each
/// child points back to its parent (a parent↔child cycle at every level) under <see cref="Family"/>; <c>payloads</c>, a
/// linked list of <see cref="PayloadNode"/>s under <see cref="Payloads"/>, each holding a <see cref="Payload"/> declared
/// before the next node, so that a depth-first search leaves one payload per node pending on its stack.
/// </summary>
internal static class Shapes
{
    internal static ChainNode? Chain;

    internal static FamilyNode? Family;

    internal static PayloadNode? Payloads;

    /// <summary>Adds <paramref name="count"/> nodes at the head of the chain.</summary>
    public static void GrowChain(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Chain = new ChainNode(Chain);
        }
    }

    /// <summary>Adds <paramref name="count"/> nodes, each with its payload, at the head of the payload list.</summary>
    public static void GrowPayloads(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Payloads = new PayloadNode(new Payload(i), Payloads);
        }
    }

    /// <summary>Adds <paramref name="count"/> generations below the youngest one.</summary>
    public static void GrowFamily(int count)
    {
        Family ??= new FamilyNode(null);
        var youngest = Family;
        while (youngest.Child is not null)
        {
            youngest = youngest.Child;
        }

        for (var i = 0; i < count; i++)
        {
            youngest = youngest.Child = new FamilyNode(youngest);
        }
    }
}

internal sealed class ChainNode(ChainNode? next)
{
    public ChainNode? Next { get; } = next;
}

internal sealed class FamilyNode(FamilyNode? parent)
{
    public FamilyNode? Parent { get; } = parent;

    public FamilyNode? Child { get; set; }
}

internal sealed class PayloadNode(Payload payload, PayloadNode? next)
{
    public Payload Payload { get; } = payload;

    public PayloadNode? Next { get; } = next;
}

internal sealed class Payload(int id)
{
    public int Id { get; } = id;
}
