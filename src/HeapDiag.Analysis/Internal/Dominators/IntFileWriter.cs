using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>Appends ints (and longs as pairs of ints) to a file through a buffer.</summary>
internal sealed class IntFileWriter : IDisposable
{
    private readonly FileStream _stream;
    private int[] _buffer;
    private int _count;

    public IntFileWriter(string path, int bufferInts = 64 * 1024)
    {
        _buffer = new int[bufferInts];
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
    }

    public void Write(int value)
    {
        if (_count == _buffer.Length)
        {
            Flush();
        }

        _buffer[_count++] = value;
    }

    /// <summary>Appends a long as two ints, low half first (what <see cref="IntFileReader.ReadLong"/> reads).</summary>
    public void WriteLong(long value)
    {
        Write((int)value);
        Write((int)(value >> 32));
    }

    public void Dispose()
    {
        if (_buffer.Length == 0)
        {
            return;
        }

        Flush();
        _stream.Dispose();

        // A disposed writer may stay referenced (the mark pass's recording outlives its files' writing): its buffer need not.
        _buffer = [];
    }

    /// <summary>Closes the file without writing what is still buffered: a failed pass, whose files are deleted next.</summary>
    public void Abandon()
    {
        _buffer = [];
        _stream.Dispose();
    }

    private void Flush()
    {
        _stream.Write(MemoryMarshal.AsBytes(_buffer.AsSpan(0, _count)));
        _count = 0;
    }
}
