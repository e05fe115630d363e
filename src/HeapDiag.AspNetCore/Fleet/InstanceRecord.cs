namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// What one process tells the fleet, in <c>{Prefix}/{app}/{instance}/instance.json.zst</c>: who it is, when it last wrote
/// (live while that is fresher than three <see cref="IntervalSeconds"/>), the monitor's last sample and threshold, and its
/// last dumps with their leak suspects by fingerprint. Never a setting's value, a credential or a path.
/// </summary>
/// <param name="Schema">1; a reader ignores records of a schema it does not know.</param>
/// <param name="App">The app's folder name (<c>HeapDiagnostics:AppName</c> or the entry assembly's name).</param>
/// <param name="Instance">The instance's folder name: <c>{processId}-{sessionId}</c>.</param>
/// <param name="Host">The host (in Kubernetes, the pod) name.</param>
/// <param name="Version">The app's informational version; null when it has none.</param>
/// <param name="StartedUtc">When the process started.</param>
/// <param name="RefreshedUtc">When this record was written.</param>
/// <param name="IntervalSeconds">How often the instance refreshes it (<c>Egress:InstanceRecordInterval</c>).</param>
/// <param name="LastSample">The monitor's last sample; null before the first or with the monitor off.</param>
/// <param name="Metric">The monitored metric.</param>
/// <param name="ThresholdBytes">The automatic dump threshold in force.</param>
/// <param name="DumpsTaken">Dumps this process shipped to the bucket since it started.</param>
/// <param name="Dumps">The last of them (at most <see cref="InstanceRecordWriter.MaxDumps"/>), newest first.</param>
internal sealed record InstanceRecord(
    int Schema,
    string App,
    string Instance,
    string Host,
    string? Version,
    DateTimeOffset StartedUtc,
    DateTimeOffset RefreshedUtc,
    double IntervalSeconds,
    InstanceSample? LastSample,
    string Metric,
    long ThresholdBytes,
    int DumpsTaken,
    IReadOnlyList<InstanceDump> Dumps)
{
    public const int CurrentSchema = 1;
}

/// <summary>The monitor's last sample, as the record carries it.</summary>
internal sealed record InstanceSample(DateTimeOffset Timestamp, long ValueBytes, long WorkingSetBytes, long GcHeapSizeBytes);

/// <summary>One dump of the instance: its object, its leak report's headline and its suspects; null until they are made.</summary>
internal sealed record InstanceDump(string Id, string Key, DateTimeOffset CreatedUtc, string Trigger, string? ReportHeadline, IReadOnlyList<InstanceLeak>? Leaks);

/// <summary>A leak suspect of a dump, by its fingerprint (the same leak has the same one in every process).</summary>
/// <param name="Fingerprint">16 hex digits from the root path's types and fields.</param>
/// <param name="Kind"><c>object</c>, <c>instances</c> or <c>runtime</c>.</param>
/// <param name="Headline">The suspect's sentence for a person.</param>
/// <param name="Pattern">The known leak pattern's id, when one matched.</param>
/// <param name="RetainedBytes">What its accumulation point retains.</param>
internal sealed record InstanceLeak(string Fingerprint, string Kind, string Headline, string? Pattern, long RetainedBytes);
