using System.Diagnostics.CodeAnalysis;
using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>The dump types a user may ask for, by their public names.</summary>
internal static class HeapDumpTypes
{
    public const string AllowedList = "'heap', 'full', 'mini', 'triage'";

    /// <summary>Maps a public name (case-insensitive) to the runtime's dump type.</summary>
    public static bool TryParse(string? name, [NotNullWhen(true)] out string? canonical)
    {
        canonical = name?.ToLowerInvariant() switch
        {
            "heap" => "heap",
            "full" => "full",
            "mini" => "mini",
            "triage" => "triage",
            _ => null,
        };
        return canonical is not null;
    }

    public static DumpType ToRuntimeType(string canonical) => canonical switch
    {
        "heap" => DumpType.WithHeap,
        "full" => DumpType.Full,
        "mini" => DumpType.Normal,
        "triage" => DumpType.Triage,
        _ => throw new ArgumentOutOfRangeException(nameof(canonical), canonical, "Unknown dump type."),
    };

    /// <summary>Heap and full dumps hold the whole GC heap, so their size is close to the process RSS.</summary>
    public static bool HoldsHeap(string canonical) => canonical is "heap" or "full";
}
