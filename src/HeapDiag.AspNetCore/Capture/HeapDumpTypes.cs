using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>The dump types a user may ask for, by their public names: the one list the parser, the options and dump ids use.</summary>
internal static class HeapDumpTypes
{
    public const string Heap = "heap";
    public const string Full = "full";
    public const string Mini = "mini";
    public const string Triage = "triage";

    /// <summary>The names as a regular-expression alternation, for the dump id pattern.</summary>
    public const string Pattern = Heap + "|" + Full + "|" + Mini + "|" + Triage;

    /// <summary>The names for messages.</summary>
    public const string AllowedList = "'" + Heap + "', '" + Full + "', '" + Mini + "', '" + Triage + "'";

    private static readonly FrozenDictionary<string, DumpType> RuntimeTypes = new Dictionary<string, DumpType>
    {
        [Heap] = DumpType.WithHeap,
        [Full] = DumpType.Full,
        [Mini] = DumpType.Normal,
        [Triage] = DumpType.Triage,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Maps a public name (case-insensitive) to its canonical lower-case form.</summary>
    public static bool TryParse(string? name, [NotNullWhen(true)] out string? canonical)
    {
        canonical = name is not null && RuntimeTypes.ContainsKey(name) ? name.ToLowerInvariant() : null;
        return canonical is not null;
    }

    public static DumpType ToRuntimeType(string canonical) => RuntimeTypes[canonical];

    /// <summary>Heap and full dumps hold the whole GC heap, so their size is close to the process RSS.</summary>
    public static bool HoldsHeap(string canonical) => canonical is Heap or Full;
}
