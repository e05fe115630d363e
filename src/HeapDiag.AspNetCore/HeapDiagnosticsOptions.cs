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
    /// HeapDiag compares presented keys with SHA-256 hashes of these; the keys themselves remain in the app's
    /// configuration (and so in a heap dump of the process), like any other setting.
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

    /// <summary>The background monitor that samples memory and captures a dump past a threshold.</summary>
    public MemoryMonitorOptions Monitor { get; } = new();

    /// <summary>Where finished dumps go: the local directory only (the default) or also an S3-compatible bucket.</summary>
    public HeapDumpEgressOptions Egress { get; } = new();

    /// <summary>How dumps are analysed: in a child process within a memory budget, or not at all.</summary>
    public HeapAnalysisOptions Analysis { get; } = new();

    /// <summary>The page at <c>{RoutePrefix}/ui</c>: memory chart, dumps and the leak view.</summary>
    public HeapDiagnosticsUiOptions Ui { get; } = new();
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

/// <summary>The memory value the monitor compares with its threshold.</summary>
public enum MonitorMetric
{
    /// <summary>The process's resident set (RSS): what the OS and a container's OOM killer count.</summary>
    WorkingSet,

    /// <summary>Bytes of the GC heap after the last collection.</summary>
    GcHeapSize,

    /// <summary>Bytes the GC has committed from the OS.</summary>
    GcCommitted,
}

/// <summary>
/// Settings under <c>HeapDiagnostics:Monitor</c>. Split as dotnet-monitor's collection rules are: a trigger
/// (metric over threshold), an action (a dump) and limits (count, cooldown, re-arming) so production never sees a
/// dump storm.
/// </summary>
public sealed class MemoryMonitorOptions
{
    /// <summary>Whether the monitor runs. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Sampling period. Default 10 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Which value is compared with the threshold. Default <see cref="MonitorMetric.WorkingSet"/>.</summary>
    public MonitorMetric Metric { get; set; } = MonitorMetric.WorkingSet;

    /// <summary>Automatic dump threshold in bytes. Default 1610612736 (1.5 GiB).</summary>
    public long ThresholdBytes { get; set; } = 1_610_612_736;

    /// <summary>
    /// Alternative threshold: this percent of the memory limit the GC sees (the container's cgroup limit, or the
    /// machine's memory). When both are set, the lower threshold wins. Default none.
    /// </summary>
    public double? ThresholdPercentOfLimit { get; set; }

    /// <summary>Most automatic dumps per process. Default 3.</summary>
    public int MaxAutoDumps { get; set; } = 3;

    /// <summary>Least time between two automatic dumps. Default one hour.</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// After an automatic dump, the next one needs the metric to grow this many percent above the value at that
    /// dump (or to fall below the threshold and cross it again). Default 20.
    /// </summary>
    public double RearmGrowthPercent { get; set; } = 20;

    /// <summary>Growth, in MB per hour over the sample window, above which sustained growth counts as a potential leak. Default 100.</summary>
    public double LeakGrowthMbPerHour { get; set; } = 100;

    /// <summary>The health check reports Degraded above this fraction of the threshold. Default 0.9.</summary>
    public double HealthDegradedFraction { get; set; } = 0.9;
}

/// <summary>Where heap analysis runs.</summary>
public enum AnalysisMode
{
    /// <summary>In a child process of the app (the analyzer), with its own heap and memory budget. Never on the app's heap.</summary>
    ChildProcess,

    /// <summary>No analysis here: the analysis routes answer 503 and automatic dumps get no leak report. Analyse the dumps elsewhere with <c>heapdiag</c>.</summary>
    Off,
}

/// <summary>
/// Settings under <c>HeapDiagnostics:Analysis</c>. The analysis never runs on the app's heap: a dump is taken when the
/// app is close to its memory limit, and an analysis inside the app would take exactly the memory the app is short of.
/// </summary>
public sealed class HeapAnalysisOptions
{
    /// <summary>Where analysis runs. Default <see cref="AnalysisMode.ChildProcess"/>.</summary>
    public AnalysisMode Mode { get; set; } = AnalysisMode.ChildProcess;

    /// <summary>
    /// Memory budget of the analyzer process in bytes; it runs with this as its GC hard limit. Default (null): what is
    /// left below the container's memory limit (or the GC's limit) when the analysis starts, minus a safety margin,
    /// at most 1 GiB.
    /// </summary>
    public long? MaxMemoryBytes { get; set; }

    /// <summary>Longest an analysis may run before the analyzer is stopped. Default 10 minutes.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A leak suspect retains at least this percent of the live bytes. Default 10.</summary>
    public double SuspectThresholdPercent { get; set; } = 10;
}
