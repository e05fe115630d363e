using System.Text;

namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// Ids for the file names in the map, kept from one reading to the next so a steady process allocates no string per
/// reading. Bounded: past <see cref="MaxNames"/> distinct names (a process that maps and unmaps many files) the table
/// starts over at the next reading.
/// </summary>
internal sealed class FileNames
{
    public const int MaxNames = 4096;
    private const int MaxNameChars = 256;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly char[] _chars = new char[MaxNameChars];

    public int Count => _names.Count;

    public string this[int id] => _names[id];

    /// <summary>Called before a reading: forgets the names when the table is full.</summary>
    public void BeginReading()
    {
        if (_names.Count >= MaxNames)
        {
            _ids.Clear();
            _names.Clear();
        }
    }

    /// <summary>The id of a file name given as UTF-8 (the last path segment); a new id for a name not seen before.</summary>
    public int IdOf(ReadOnlySpan<byte> utf8Name)
    {
        if (utf8Name.Length > MaxNameChars)
        {
            utf8Name = utf8Name[..MaxNameChars];
        }

        var length = Encoding.UTF8.GetChars(utf8Name, _chars);
        var name = _chars.AsSpan(0, length);
        var lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(name, out var id))
        {
            return id;
        }

        id = _names.Count;
        var text = name.ToString();
        _ids[text] = id;
        _names.Add(text);
        return id;
    }
}
