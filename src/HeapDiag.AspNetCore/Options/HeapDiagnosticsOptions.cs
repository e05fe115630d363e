using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Settings for HeapDiag, bound from the <c>HeapDiagnostics</c> configuration section
/// (environment variables: <c>HeapDiagnostics__ApiKeys__0</c>, <c>HeapDiagnostics__Storage__Directory</c>, …).
/// Every value is validated when the host starts; a bad value stops start-up with a message naming the key and the fix.
/// </summary>
public sealed class HeapDiagnosticsOptions
{
    /// <summary>The configuration section HeapDiag binds by default.</summary>
    public const string SectionName = "HeapDiagnostics";

    /// <summary>Where the endpoints live. Must start with '/'. Default <c>/debug</c>.</summary>
    [Required(ErrorMessage = "HeapDiagnostics:RoutePrefix is empty; set a literal path starting with '/', for example '/debug'.")]
    [RegularExpression("^/[^{}]*$", ErrorMessage = "HeapDiagnostics:RoutePrefix must be a literal path starting with '/' (no route parameters), for example '/debug'.")]
    public string RoutePrefix { get; set; } = "/debug";

    /// <summary>
    /// API keys accepted in the <c>X-Api-Key</c> header, each at least 32 characters. HeapDiag compares presented keys
    /// with SHA-256 hashes of these; the keys themselves remain in the app's configuration (and so in a heap dump of
    /// the process), like any other setting.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Role that grants access to users signed in through the app's own authentication. Default <c>HeapDiagnostics</c>.</summary>
    [Required(ErrorMessage = "HeapDiagnostics:Role is empty; name the role that grants access, for example 'HeapDiagnostics'.")]
    public string Role { get; set; } = "HeapDiagnostics";

    /// <summary>Name of the authorization policy every diagnostics endpoint requires. Default <c>HeapDiagnostics</c>.</summary>
    [Required(ErrorMessage = "HeapDiagnostics:Policy is empty; name the authorization policy, for example 'HeapDiagnostics'.")]
    public string Policy { get; set; } = "HeapDiagnostics";

    /// <summary>
    /// The app's name in the bucket (its folder, <c>{Prefix}/{app}/</c>) and in the fleet view (<c>GET /fleet?app=</c>).
    /// Default: the host's application name (the entry assembly's name).
    /// </summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,100}$", ErrorMessage = "HeapDiagnostics:AppName may hold only letters, digits, '.', '-' and '_' (at most 100), for example 'orders-api'.")]
    public string? AppName { get; set; }

    /// <summary>Whether <c>/memory</c> includes the text of <c>/proc/self/smaps_rollup</c> on Linux. Default true.</summary>
    public bool IncludeSmapsRollup { get; set; } = true;

    /// <summary>Where dumps are written and how many are kept.</summary>
    [ValidateObjectMembers]
    public HeapDumpStorageOptions Storage { get; } = new();

    /// <summary>How manual captures are rate-limited and which dump type they take by default.</summary>
    [ValidateObjectMembers]
    public HeapDumpCaptureOptions Capture { get; } = new();

    /// <summary>The background monitor that samples memory and captures a dump past a threshold.</summary>
    [ValidateObjectMembers]
    public MemoryMonitorOptions Monitor { get; } = new();

    /// <summary>Where finished dumps go: the local directory only (the default) or also an S3-compatible bucket or an Azure Blob Storage container.</summary>
    [ValidateObjectMembers]
    public HeapDumpEgressOptions Egress { get; } = new();

    /// <summary>How dumps are analysed: in a child process within a memory budget, or not at all.</summary>
    [ValidateObjectMembers]
    public HeapAnalysisOptions Analysis { get; } = new();

    /// <summary>The page at <c>{RoutePrefix}/ui</c>: memory chart, dumps and the leak view.</summary>
    public HeapDiagnosticsUiOptions Ui { get; } = new();
}
