using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>
/// An int array of the dominator pass, either on the GC heap (pinned, when the whole pass fits in the memory budget)
/// or in a memory-mapped scratch file. Both are read and written through one pointer, so the code that uses it does
/// not know which it has.
/// </summary>
/// <remarks>
/// A mapped array's pages are pages of a file: the kernel writes them back and drops them when memory runs short
/// (in a container too) instead of counting them against the process until an OOM kill, which is what lets the
/// analysis of a heap of any size stay within a fixed GC heap (the GC hard limit is the budget). Every array the
/// pass creates is used whole, so its pages are all mapped when it is created (<see cref="MemoryPages.Populate"/>)
/// rather than one page fault at a time. The file is deleted on dispose.
/// </remarks>
internal sealed unsafe class IntArray : IDisposable
{
    private readonly int[]? _managed;
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly string? _path;
    private readonly int* _items;

    private IntArray(int length, int[]? managed, MemoryMappedFile? file, MemoryMappedViewAccessor? view, string? path)
    {
        Length = length;
        _managed = managed;
        _file = file;
        _view = view;
        _path = path;
        if (managed is not null)
        {
            _items = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(managed));
        }
        else if (view is not null)
        {
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            MemoryPages.Populate(pointer, (long)view.SafeMemoryMappedViewHandle.ByteLength);
            _items = (int*)(pointer + view.PointerOffset);
        }
    }

    public int Length { get; }

    /// <summary>Whether the items are in a scratch file rather than on the GC heap.</summary>
    public bool IsMapped => _view is not null;

    public Span<int> Span => new(_items, Length);

    public ref int this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ThrowOutOfRange(index);
            }

            return ref _items[index];
        }
    }

    /// <summary>A zeroed array on the GC heap (pinned: the pinned object heap never moves it), on huge pages where it can be.</summary>
    public static IntArray InMemory(int length) => new(length, MemoryPages.AllocateOnHugePages<int>(Math.Max(1, length)), null, null, null);

    /// <summary>A zeroed array in a new scratch file at <paramref name="path"/>.</summary>
    public static IntArray Mapped(string path, int length)
    {
        var bytes = Math.Max(sizeof(int), (long)length * sizeof(int));
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.CreateNew, mapName: null, bytes, MemoryMappedFileAccess.ReadWrite);
        try
        {
            return new IntArray(length, null, file, file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite), path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            DropPages(_path!);
            _view.Dispose();
            _file!.Dispose();
            File.Delete(_path!);
        }
    }

    /// <summary>
    /// Truncates the scratch file before its view is disposed. Disposing a view accessor flushes it (<c>msync</c>
    /// with <c>MS_SYNC</c>), which would write every dirty page of a file about to be deleted to disk and wait for
    /// it: on a 60 M-object heap, gigabytes. Truncating drops the pages from the page cache unwritten.
    /// </summary>
    private static void DropPages(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        RandomAccess.SetLength(handle, 0);
    }

    private static void ThrowOutOfRange(int index) =>
        throw new IndexOutOfRangeException($"index {index} is outside the scratch array");
}
