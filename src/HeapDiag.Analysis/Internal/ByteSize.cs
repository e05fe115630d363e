using System.Globalization;

namespace HeapDiag.Analysis.Internal;

/// <summary>Byte counts for people: 1.5 KiB, 960.0 MiB.</summary>
internal static class ByteSize
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Format(long bytes)
    {
        var value = Math.Abs((double)bytes);
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var sign = bytes < 0 ? "-" : string.Empty;
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0} {Units[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0.0} {Units[unit]}");
    }
}
