using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Receives the references an object holds, one at a time. A visitor must not read dump memory itself: the walk may be
/// reading the object in place from a cached page that another read could replace.
/// </summary>
internal interface IReferenceVisitor
{
    /// <summary>
    /// Called for each non-null reference; <paramref name="offset"/> is the slot's offset from the object's address,
    /// or <see cref="HeapObjects.LoaderAllocatorOffset"/>, or <see cref="RootSet.DependentHandleOffset"/>. Return false to stop.
    /// </summary>
    bool Visit(ulong reference, int offset);
}

/// <summary>
/// Reads objects out of the dump: method table, size and references. The same reads ClrMD's <see cref="ClrObject"/>
/// does, but through <see cref="HeapMemory"/> and without allocating per object, because the mark pass does this for
/// every live object.
/// </summary>
internal sealed class HeapObjects
{
    private readonly ClrHeap _heap;
    private readonly HeapMemory _memory;
    private readonly Dictionary<ulong, HeapType?> _typesByMethodTable = [];
    private readonly List<HeapType> _types = [];
    private readonly ulong _methodTableMask;
    private HeapType? _lastType;
    private byte[] _objectBytes = new byte[4096];
    private readonly ulong[] _elementBuffer = new ulong[4096];

    /// <summary>The "offset" reported for the implicit reference from an object of a collectible type to its loader allocator.</summary>
    public const int LoaderAllocatorOffset = -2;

    private const ulong MaxKeptObjectBuffer = 1 << 20;

    public HeapObjects(ClrHeap heap, HeapMemory memory)
    {
        _heap = heap;
        _memory = memory;

        // The GC keeps flags in the low bits of the method table pointer while it runs (mark, pin); they are never part of the address.
        _methodTableMask = ~(ulong)(memory.PointerSize - 1);
    }

    public int PointerSize => _memory.PointerSize;

    /// <summary>Every method table seen so far that ClrMD could resolve.</summary>
    public IEnumerable<HeapType> KnownTypes => _typesByMethodTable.Values.OfType<HeapType>();

    /// <summary>The same types by <see cref="HeapType.Id"/>: grows as the passes meet new method tables.</summary>
    public IReadOnlyList<HeapType> Types => _types;

    /// <summary>The type of the object at <paramref name="address"/>, or null if its method table is not readable.</summary>
    public HeapType? GetType(ulong address)
    {
        var methodTable = _memory.ReadPointer(address) & _methodTableMask;
        if (_lastType is { } last && last.MethodTable == methodTable)
        {
            return last;
        }

        if (methodTable == 0)
        {
            return null;
        }

        if (!_typesByMethodTable.TryGetValue(methodTable, out var type))
        {
            type = ReadType(methodTable);
            _typesByMethodTable[methodTable] = type;
        }

        if (type is not null)
        {
            _lastType = type;
        }

        return type;
    }

    /// <summary>
    /// The type of a method table, or null when it does not resolve, or when its objects hold references but where
    /// they are cannot be read (a damaged descriptor): such objects are as unreadable as one without a type, and the
    /// passes skip and count them rather than report them without their references.
    /// </summary>
    private HeapType? ReadType(ulong methodTable)
    {
        if (_heap.GetTypeByMethodTable(methodTable) is not { } clrType)
        {
            return null;
        }

        var layout = clrType.ContainsPointers ? GCLayout.Read(_memory, methodTable) : null;
        if (clrType.ContainsPointers && layout is null)
        {
            return null;
        }

        var type = new HeapType(_types.Count, clrType, PointerSize, layout);
        _types.Add(type);
        return type;
    }

    /// <summary>Size of the object in bytes, as the GC lays it out (aligned to a pointer).</summary>
    public ulong GetSize(ulong address, HeapType type)
    {
        ulong size;
        if (type.IsString)
        {
            // Header word, method table, length, then the characters and their terminating NUL. (ClrMD's StaticSize
            // for System.String leaves the terminator out, so spell the layout out rather than trust it.)
            size = (ulong)(2 * PointerSize) + 4 + ((GetComponentCount(address) + 1UL) * 2);
        }
        else
        {
            size = type.BaseSize;
            if (type.ComponentSize != 0)
            {
                size += (ulong)GetComponentCount(address) * type.ComponentSize;
            }
        }

        var alignment = (ulong)PointerSize - 1;
        return (size + alignment) & ~alignment;
    }

    /// <summary>Number of array elements or string characters.</summary>
    public uint GetComponentCount(ulong address) => _memory.ReadUInt32(address + (ulong)PointerSize);

    /// <summary>Calls the visitor for every non-null reference the object holds, in slot order.</summary>
    public void VisitReferences<TVisitor>(ulong address, HeapType type, ulong size, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        if (!VisitLoaderAllocator(type, ref visitor) || !type.ContainsPointers)
        {
            return;
        }

        if (type.IsReferenceArray)
        {
            VisitArrayElements(address, type, 0, GetComponentCount(address), ref visitor);
            return;
        }

        if (size > int.MaxValue)
        {
            return;
        }

        if (type.Layout is not { } layout || size > int.MaxValue)
        {
            return;
        }

        // Most objects lie within one cached page and are walked in place; others are copied into a buffer that
        // grows for ordinary objects, while a rare huge one (a big array of structs) gets a buffer of its own rather
        // than pinning its size for the rest of the analysis.
        var bytes = _memory.TryGetSpan(address, (int)size);
        if (bytes.IsEmpty)
        {
            var buffer = _objectBytes;
            if ((ulong)buffer.Length < size)
            {
                buffer = new byte[size];
                if (size <= MaxKeptObjectBuffer)
                {
                    _objectBytes = buffer;
                }
            }

            var read = _memory.Read(address, buffer.AsSpan(0, (int)size));
            bytes = buffer.AsSpan(0, read);
        }

        layout.Walk(bytes, (long)size, PointerSize, ref visitor);
    }

    /// <summary>
    /// An object of a type from an unloadable AssemblyLoadContext keeps that context alive, as the GC does: visits the
    /// context's loader allocator. Returns what the visitor returned (true for other types).
    /// </summary>
    public bool VisitLoaderAllocator<TVisitor>(HeapType type, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        return type.LoaderAllocatorHandle == 0
            || _memory.ReadPointer(type.LoaderAllocatorHandle) is not (ulong allocator and not 0)
            || visitor.Visit(allocator, LoaderAllocatorOffset);
    }

    /// <summary>Calls the visitor for elements [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) of a reference array.</summary>
    public void VisitArrayElements<TVisitor>(ulong address, HeapType type, long first, long count, ref TVisitor visitor)
        where TVisitor : struct, IReferenceVisitor
    {
        var pointerSize = PointerSize;
        var end = first + count;
        for (var start = first; start < end; start += _elementBuffer.Length)
        {
            var slice = (int)Math.Min(_elementBuffer.Length, end - start);
            var sliceAddress = address + type.ElementsOffset + ((ulong)start * (ulong)pointerSize);
            var bytes = MemoryMarshal.AsBytes(_elementBuffer.AsSpan(0, slice));
            if (pointerSize == 4)
            {
                bytes = bytes[..(slice * 4)];
            }

            var read = _memory.Read(sliceAddress, bytes);
            var elements = read / pointerSize;
            for (var i = 0; i < elements; i++)
            {
                var reference = pointerSize == 8 ? _elementBuffer[i] : MemoryMarshal.Cast<ulong, uint>(_elementBuffer.AsSpan())[i];
                var offset = (int)Math.Min(int.MaxValue, type.ElementsOffset + ((start + i) * pointerSize));
                if (reference != 0 && !visitor.Visit(reference, offset))
                {
                    return;
                }
            }

            if (elements < slice)
            {
                return;
            }
        }
    }
}
