using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>Settings under <c>HeapDiagnostics:Storage</c>.</summary>
public sealed class HeapDumpStorageOptions
{
    /// <summary>
    /// Directory for dumps and their diagnostics. Default: <c>heapdumps</c> under the system temp directory
    /// (<c>/tmp/heapdumps</c> on Linux), which exists and is writable in containers and tests alike.
    /// </summary>
    [Required(ErrorMessage = "HeapDiagnostics:Storage:Directory is empty; set it to a writable directory, for example '/var/dumps'.")]
    public string Directory { get; set; } = Path.Combine(Path.GetTempPath(), "heapdumps");

    /// <summary>How many dumps to keep; the oldest are deleted first. Default 5.</summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "HeapDiagnostics:Storage:MaxDumps must be at least 1 (the dumps kept; the oldest go first), for example 5.")]
    public int MaxDumps { get; set; } = 5;

    /// <summary>Upper bound on the bytes all kept dumps may take; null for no bound. Default null.</summary>
    [SettingRange(typeof(long), "1", "9223372036854775807", ErrorMessage = "HeapDiagnostics:Storage:MaxTotalBytes must be positive, or left unset for no limit.")]
    public long? MaxTotalBytes { get; set; }

    /// <summary>Free disk space that must remain after a dump is written. Default 1 GiB.</summary>
    [SettingRange(typeof(long), "0", "9223372036854775807", ErrorMessage = "HeapDiagnostics:Storage:ReserveBytes must be zero or more, for example 1073741824 (1 GiB).")]
    public long ReserveBytes { get; set; } = 1L << 30;
}
