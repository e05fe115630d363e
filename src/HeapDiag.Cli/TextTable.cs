namespace HeapDiag.Cli;

/// <summary>A plain-text table whose columns line up: numbers right-aligned, text left-aligned, last column unpadded.</summary>
internal sealed class TextTable(params (string Header, bool AlignRight)[] columns)
{
    private readonly List<string[]> _rows = [];

    public void AddRow(params string[] cells) => _rows.Add(cells);

    public void WriteTo(TextWriter output, string indent = "  ")
    {
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        WriteLine(output, indent, widths, columns.Select(c => c.Header).ToArray());
        foreach (var row in _rows)
        {
            WriteLine(output, indent, widths, row);
        }
    }

    private void WriteLine(TextWriter output, string indent, int[] widths, string[] cells)
    {
        var parts = new string[cells.Length];
        for (var i = 0; i < cells.Length; i++)
        {
            var last = i == cells.Length - 1;
            parts[i] = columns[i].AlignRight ? cells[i].PadLeft(widths[i]) : last ? cells[i] : cells[i].PadRight(widths[i]);
        }

        output.WriteLine(indent + string.Join("  ", parts).TrimEnd());
    }
}
