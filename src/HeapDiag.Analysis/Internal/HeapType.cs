using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// What the analysis needs to know about one method table, read once from ClrMD's <see cref="ClrType"/>: how to size
/// an object and where its references are.
/// </summary>
internal sealed class HeapType
{
    /// <summary>What an object whose method table cannot be read is called in reports.</summary>
    public const string UnreadableName = "<unreadable object>";

    public HeapType(int id, ClrType clrType, int pointerSize, GCLayout? layout)
    {
        Id = id;
        Layout = layout;
        ClrType = clrType;
        MethodTable = clrType.MethodTable;
        Name = clrType.Name ?? $"<unknown type {clrType.MethodTable:x}>";
        BaseSize = (uint)clrType.StaticSize;
        ComponentSize = (uint)clrType.ComponentSize;
        ContainsPointers = clrType.ContainsPointers;
        IsString = clrType.IsString;
        IsArray = clrType.IsArray;
        LoaderAllocatorHandle = clrType.IsCollectible ? clrType.LoaderAllocatorHandle : 0;

        // Array elements start right after the header that BaseSize describes (method table, length, bounds);
        // BaseSize also counts the object header word that sits before the object's address.
        ElementsOffset = IsArray ? BaseSize - (uint)pointerSize : 0;

        // An array whose elements are exactly one pointer wide and contain pointers holds one reference per
        // element (an array of classes, or of a struct that is nothing but a reference). Those can be read in
        // slices instead of copying a possibly huge object to walk its GC descriptor.
        IsReferenceArray = IsArray && ContainsPointers && ComponentSize == pointerSize;
    }

    /// <summary>The type's index in <see cref="HeapObjects.Types"/>: what the dominator pass records per object.</summary>
    public int Id { get; }

    public ClrType ClrType { get; }

    public ulong MethodTable { get; }

    public string Name { get; }

    /// <summary>Size of an object without array elements or string characters, including the header word.</summary>
    public uint BaseSize { get; }

    /// <summary>Size of one array element or string character; 0 for other objects.</summary>
    public uint ComponentSize { get; }

    public bool ContainsPointers { get; }

    /// <summary>Where objects of this type hold references; null when they hold none.</summary>
    public GCLayout? Layout { get; }

    public bool IsString { get; }

    public bool IsArray { get; }

    public bool IsReferenceArray { get; }

    /// <summary>For a type of an unloadable load context, the handle to the loader allocator its objects keep alive; otherwise 0.</summary>
    public ulong LoaderAllocatorHandle { get; }

    /// <summary>Offset of the first array element from the object's address.</summary>
    public uint ElementsOffset { get; }

    /// <summary>
    /// Whether an object of this type is the primary of a dependent handle (set while the roots are collected): only
    /// objects of such types need looking up among the primaries.
    /// </summary>
    public bool HasDependentHandlePrimaries { get; set; }

    // Tallies of the analysis in progress. They live on the type, not in a dictionary beside it, because the
    // summary updates them once per live object: 24 M extra dictionary lookups are a measurable share of the run.

    /// <summary>Live objects of this method table counted so far.</summary>
    public long LiveCount { get; set; }

    /// <summary>Their bytes.</summary>
    public long LiveBytes { get; set; }
}
