using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal.Dominators;

/// <summary>Reads ints from the start of a file through a buffer.</summary>
internal sealed class IntFileReader : IDisposable
{
    private const int BufferInts = 64 * 1024;

    private readonly FileStream _stream;
    private readonly int[] _buffer = new int[BufferInts];
    private int _position;
    private int _count;

    public IntFileReader(string path)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
    }

    public int Read() => TryRead(out var value) ? value : throw new EndOfStreamException("scratch file ended early");

    /// <summary>A long written by <see cref="IntFileWriter.WriteLong"/>.</summary>
    public long ReadLong() => (uint)Read() | ((long)Read() << 32);

    public bool TryRead(out int value)
    {
        if (_position == _count && !Fill())
        {
            value = 0;
            return false;
        }

        value = _buffer[_position++];
        return true;
    }

    public void Dispose() => _stream.Dispose();

    private bool Fill()
    {
        var bytes = MemoryMarshal.AsBytes(_buffer.AsSpan());
        var read = _stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        _count = read / sizeof(int);
        _position = 0;
        return _count > 0;
    }
}
