namespace HeapDiag.AspNetCore;

/// <summary>Settings under <c>HeapDiagnostics:Ui</c>: the page at <c>{RoutePrefix}/ui</c>.</summary>
public sealed class HeapDiagnosticsUiOptions
{
    /// <summary>
    /// Whether the page is served. Default true. The page itself holds no data and loads without credentials; every
    /// number it shows comes from the diagnostics endpoints, behind the policy. False: <c>{RoutePrefix}/ui</c> is 404.
    /// </summary>
    public bool Enabled { get; set; } = true;
}
