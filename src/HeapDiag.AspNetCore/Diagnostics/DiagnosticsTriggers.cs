namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>The values of <see cref="MemoryDiagnostics.Trigger"/>.</summary>
internal static class DiagnosticsTriggers
{
    /// <summary>Diagnostics read through <c>GET /memory</c>.</summary>
    public const string Request = "request";

    /// <summary>A dump asked for by a person.</summary>
    public const string Manual = "manual";

    /// <summary>A dump taken by the monitor past its threshold.</summary>
    public const string Auto = "auto";
}
