namespace HeapDiag.AspNetCore;

/// <summary>
/// Settings for HeapDiag, bound from the <c>HeapDiagnostics</c> configuration section
/// (environment variables: <c>HeapDiagnostics__ApiKeys__0</c>, <c>HeapDiagnostics__Storage__Directory</c>, …).
/// Every value is validated when the host starts; a bad value stops start-up with a message naming the key.
/// </summary>
public sealed class HeapDiagnosticsOptions
{
    /// <summary>The configuration section HeapDiag binds by default.</summary>
    public const string SectionName = "HeapDiagnostics";

    /// <summary>Where the endpoints live. Must start with '/'. Default <c>/debug</c>.</summary>
    public string RoutePrefix { get; set; } = "/debug";

    /// <summary>
    /// API keys accepted in the <c>X-Api-Key</c> header, each at least 32 characters.
    /// Only their SHA-256 hashes are kept in memory after start-up.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Role that grants access to users signed in through the app's own authentication. Default <c>HeapDiagnostics</c>.</summary>
    public string Role { get; set; } = "HeapDiagnostics";

    /// <summary>Name of the authorization policy every diagnostics endpoint requires. Default <c>HeapDiagnostics</c>.</summary>
    public string Policy { get; set; } = "HeapDiagnostics";

    /// <summary>Whether <c>/memory</c> includes the text of <c>/proc/self/smaps_rollup</c> on Linux. Default true.</summary>
    public bool IncludeSmapsRollup { get; set; } = true;

    /// <summary>Where dumps are written and how many are kept.</summary>
    public HeapDumpStorageOptions Storage { get; } = new();

    /// <summary>How manual captures are rate-limited and which dump type they take by default.</summary>
    public HeapDumpCaptureOptions Capture { get; } = new();
}

/// <summary>Settings under <c>HeapDiagnostics:Storage</c>.</summary>
public sealed class HeapDumpStorageOptions
{
    /// <summary>
    /// Directory for dumps and their diagnostics. Default: <c>heapdumps</c> under the system temp directory
    /// (<c>/tmp/heapdumps</c> on Linux), which exists and is writable in containers and tests alike.
    /// </summary>
    public string Directory { get; set; } = Path.Combine(Path.GetTempPath(), "heapdumps");

    /// <summary>How many dumps to keep; the oldest are deleted first. Default 5.</summary>
    public int MaxDumps { get; set; } = 5;

    /// <summary>Upper bound on the bytes all kept dumps may take; null for no bound. Default null.</summary>
    public long? MaxTotalBytes { get; set; }

    /// <summary>Free disk space that must remain after a dump is written. Default 1 GiB.</summary>
    public long ReserveBytes { get; set; } = 1L << 30;
}

/// <summary>Settings under <c>HeapDiagnostics:Capture</c>.</summary>
public sealed class HeapDumpCaptureOptions
{
    /// <summary>Minimum time between two manual captures. Default one minute.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Dump type used when a request names none: <c>heap</c>, <c>full</c>, <c>mini</c> or <c>triage</c>. Default <c>heap</c>.</summary>
    public string DefaultType { get; set; } = "heap";
}
