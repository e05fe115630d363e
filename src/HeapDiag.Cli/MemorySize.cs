using System.Globalization;

namespace HeapDiag.Cli;

/// <summary>Sizes as people type them: <c>600M</c>, <c>1G</c>, <c>512k</c> (1024-based) or plain bytes.</summary>
internal static class MemorySize
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var shift = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = value << shift;
        return true;
    }

    public static long Parse(string text) => TryParse(text, out var bytes) ? bytes : throw new FormatException($"'{text}' is not a size");
}
