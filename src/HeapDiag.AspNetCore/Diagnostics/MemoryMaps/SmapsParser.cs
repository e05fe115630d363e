using System.Buffers.Text;
using Microsoft.Win32.SafeHandles;

namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Reads <c>/proc/self/smaps</c> (or any text in its format) into <see cref="Mapping"/>s: each mapping's header line and
/// its <c>Rss:</c> line, every other line skipped. It reads through one 64 KiB buffer, so its memory does not grow
/// with the process's mappings beyond one small struct each, and both buffers are kept for the next reading. Not
/// thread-safe: one reading at a time.
/// </summary>
internal sealed class SmapsParser
{
    private const int BufferBytes = 64 * 1024;

    private readonly byte[] _buffer = new byte[BufferBytes];
    private Mapping[] _mappings = new Mapping[512];
    private int _count;

    public FileNames Names { get; } = new();

    /// <summary>The mappings of the last reading, by address.</summary>
    public ReadOnlySpan<Mapping> Mappings => _mappings.AsSpan(0, _count);

    /// <summary>Reads the file at <paramref name="path"/> from its start.</summary>
    public void Read(string path)
    {
        using var handle = File.OpenHandle(path);
        Read(handle);
    }

    /// <summary>Parses smaps text already in memory (tests).</summary>
    public void Parse(ReadOnlySpan<byte> text)
    {
        Begin();
        var rest = ParseLines(text);
        ParseLine(rest);
    }

    private void Read(SafeFileHandle handle)
    {
        Begin();
        long offset = 0;
        var carried = 0;
        while (true)
        {
            var read = RandomAccess.Read(handle, _buffer.AsSpan(carried), offset);
            if (read == 0)
            {
                ParseLine(_buffer.AsSpan(0, carried));
                return;
            }

            offset += read;
            var rest = ParseLines(_buffer.AsSpan(0, carried + read));

            // A line longer than the buffer cannot hold anything the map needs (paths are at most 4 KiB): drop it.
            carried = rest.Length == _buffer.Length ? 0 : rest.Length;
            rest[..carried].CopyTo(_buffer);
        }
    }

    private void Begin()
    {
        _count = 0;
        Names.BeginReading();
    }

    /// <summary>Parses every complete line; returns the incomplete rest.</summary>
    private ReadOnlySpan<byte> ParseLines(ReadOnlySpan<byte> text)
    {
        int newline;
        while ((newline = text.IndexOf((byte)'\n')) >= 0)
        {
            ParseLine(text[..newline]);
            text = text[(newline + 1)..];
        }

        return text;
    }

    private void ParseLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            return;
        }

        // Header lines start with the start address (lower-case hex); field lines with a capitalised name.
        if (line[0] is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f'))
        {
            ParseHeader(line);
        }
        else if (_count > 0 && line.StartsWith("Rss:"u8))
        {
            _mappings[_count - 1].ResidentBytes = Kilobytes(line[4..]) * 1024;
        }
    }

    // "start-end perms offset dev inode   path", as in proc(5).
    private void ParseHeader(ReadOnlySpan<byte> line)
    {
        var dash = line.IndexOf((byte)'-');
        if (dash < 0 || !Utf8Parser.TryParse(line[..dash], out ulong start, out _, 'x'))
        {
            return;
        }

        var rest = line[(dash + 1)..];
        var space = rest.IndexOf((byte)' ');
        if (space < 0 || !Utf8Parser.TryParse(rest[..space], out ulong end, out _, 'x') || rest.Length < space + 5)
        {
            return;
        }

        var permissions = Permissions(rest.Slice(space + 1, 4));
        rest = rest[(space + 5)..];
        for (var field = 0; field < 3; field++)
        {
            rest = rest.TrimStart((byte)' ');
            space = rest.IndexOf((byte)' ');
            rest = space < 0 ? [] : rest[space..];
        }

        var path = rest.Trim((byte)' ');
        var source = SourceOf(path);
        if (_count == _mappings.Length)
        {
            Array.Resize(ref _mappings, _count * 2);
        }

        _mappings[_count++] = new Mapping
        {
            Start = start,
            End = end,
            Permissions = permissions,
            Source = source,
            NameId = source is MappingSource.Assembly or MappingSource.File ? Names.IdOf(FileName(path)) : -1,
        };
    }

    private static MappingPermissions Permissions(ReadOnlySpan<byte> flags) =>
        (flags[0] == 'r' ? MappingPermissions.Read : 0)
        | (flags[1] == 'w' ? MappingPermissions.Write : 0)
        | (flags[2] == 'x' ? MappingPermissions.Execute : 0)
        | (flags[3] == 's' ? MappingPermissions.Shared : 0);

    private static MappingSource SourceOf(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty || path.StartsWith("[anon"u8))
        {
            return MappingSource.Anonymous;
        }

        if (path[0] == '[')
        {
            return path.SequenceEqual("[heap]"u8) ? MappingSource.MainHeap
                : path.SequenceEqual("[stack]"u8) ? MappingSource.MainStack
                : MappingSource.Kernel;
        }

        if (path.StartsWith("/memfd:doublemapper"u8))
        {
            return MappingSource.RuntimeCode;
        }

        return WithoutDeleted(path).EndsWith(".dll"u8) ? MappingSource.Assembly : MappingSource.File;
    }

    private static ReadOnlySpan<byte> FileName(ReadOnlySpan<byte> path)
    {
        path = WithoutDeleted(path);
        var slash = path.LastIndexOf((byte)'/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    private static ReadOnlySpan<byte> WithoutDeleted(ReadOnlySpan<byte> path) =>
        path.EndsWith(" (deleted)"u8) ? path[..^" (deleted)".Length] : path;

    private static long Kilobytes(ReadOnlySpan<byte> value) =>
        Utf8Parser.TryParse(value.TrimStart((byte)' '), out long kilobytes, out _) ? kilobytes : 0;
}
