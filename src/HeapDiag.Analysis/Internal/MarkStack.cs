using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HeapDiag.Analysis.Internal.Dominators;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// The mark pass's stack of objects still to descend into, with a bounded part in memory. A depth-first search keeps
/// one entry for every reference it has seen but not yet followed along its path, so a long chain whose nodes each
/// refer to something declared before the next node (a linked list of payloads) leaves one entry per node behind:
/// 80 MB for 5 M nodes, past any budget for 60 M. Once <see cref="WindowEntries"/> entries are in memory, the older
/// half goes to a scratch file, and comes back when the search has popped down to it; keeping the younger half means
/// pushes and pops around that boundary do not move a half each time.
/// </summary>
/// <typeparam name="T">A pending entry: a plain struct, written to the file as its bytes.</typeparam>
internal sealed class MarkStack<T> : IDisposable
    where T : unmanaged
{
    /// <summary>File name in the scratch space.</summary>
    public const string FileName = "mark-stack";

    private const int InitialEntries = 1024;

    private readonly Func<ScratchSpace> _scratch;
    private readonly int _half;
    private T[] _items;
    private int _count;
    private long _spilledHalves;
    private FileStream? _file;

    /// <param name="scratch">Where the older entries go: asked for at the first spill only, so that a search that never spills needs no scratch directory.</param>
    /// <param name="windowEntries">Entries held in memory at most (even); the default is 512 Ki (8 MiB of 16-byte entries).</param>
    public MarkStack(Func<ScratchSpace> scratch, int windowEntries = 1 << 19)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowEntries, 2);
        _scratch = scratch;
        _half = windowEntries / 2;
        _items = new T[Math.Min(InitialEntries, WindowEntries)];
    }

    /// <summary>Entries held in memory at most.</summary>
    public int WindowEntries => 2 * _half;

    /// <summary>Entries pushed and not popped, in memory and in the file.</summary>
    public long Count => _count + (_spilledHalves * _half);

    public void Push(in T item)
    {
        if (_count == _items.Length)
        {
            MakeRoom();
        }

        _items[_count++] = item;
    }

    public bool TryPop(out T item)
    {
        if (_count == 0 && !Reload())
        {
            item = default;
            return false;
        }

        item = _items[--_count];
        return true;
    }

    /// <summary>Closes the file; the scratch space deletes it.</summary>
    public void Dispose() => _file?.Dispose();

    /// <summary>Doubles the array up to the window; at the window, writes the older half to the file.</summary>
    private void MakeRoom()
    {
        if (_items.Length < WindowEntries)
        {
            Array.Resize(ref _items, Math.Min(WindowEntries, _items.Length * 2));
            return;
        }

        _file ??= new FileStream(_scratch().PathOf(FileName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        _file.Position = _spilledHalves * HalfBytes;
        _file.Write(MemoryMarshal.AsBytes(_items.AsSpan(0, _half)));
        _spilledHalves++;
        _items.AsSpan(_half, _half).CopyTo(_items);
        _count = _half;
    }

    /// <summary>Reads the youngest half in the file back, below nothing: the array is empty when this is called.</summary>
    private bool Reload()
    {
        if (_spilledHalves == 0)
        {
            return false;
        }

        _spilledHalves--;
        _file!.Position = _spilledHalves * HalfBytes;
        _file.ReadExactly(MemoryMarshal.AsBytes(_items.AsSpan(0, _half)));
        _count = _half;
        return true;
    }

    private long HalfBytes => (long)_half * Unsafe.SizeOf<T>();
}
