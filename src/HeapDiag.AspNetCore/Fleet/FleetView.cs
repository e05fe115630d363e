namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// The answer of <c>GET /fleet</c>: every instance that wrote a record to the bucket (live or gone) with its dumps and latest
/// report, and the leaks of all of them grouped by fingerprint.
/// </summary>
/// <param name="GeneratedUtc">When this answer was made (live and gone are as of then).</param>
/// <param name="Source">The bucket and prefix read, for people (never a secret).</param>
/// <param name="App">The <c>app</c> filter; null for every app.</param>
/// <param name="Apps">Every app found, whatever the filter.</param>
/// <param name="InstanceCount">Instances (after the filter), on every page.</param>
/// <param name="LiveCount">Of them, live: the record is fresher than three of its intervals.</param>
/// <param name="Page">This page of <paramref name="Instances"/> (from 1).</param>
/// <param name="PageSize">Instances per page.</param>
/// <param name="Instances">Live first, then by app and instance.</param>
/// <param name="Leaks">By fingerprint, the fastest growing first.</param>
/// <param name="Scan">What reading the bucket took and what it ignored.</param>
internal sealed record FleetView(
    DateTimeOffset GeneratedUtc,
    string Source,
    string? App,
    IReadOnlyList<string> Apps,
    int InstanceCount,
    int LiveCount,
    int Page,
    int PageSize,
    IReadOnlyList<FleetInstance> Instances,
    IReadOnlyList<FleetLeak> Leaks,
    FleetScan Scan);

/// <summary>One instance as its record tells it, with whether it is still live.</summary>
internal sealed record FleetInstance(
    string App,
    string Instance,
    string Host,
    string? Version,
    bool Live,
    DateTimeOffset StartedUtc,
    DateTimeOffset RefreshedUtc,
    InstanceSample? LastSample,
    string Metric,
    long ThresholdBytes,
    int DumpsTaken,
    string? LatestReport,
    IReadOnlyList<FleetDump> Dumps);

/// <summary>A dump of an instance; <see cref="InBucket"/> false once it was deleted from the bucket.</summary>
internal sealed record FleetDump(string Id, string Key, DateTimeOffset CreatedUtc, string Trigger, bool InBucket, string? ReportHeadline, IReadOnlyList<InstanceLeak>? Leaks);

/// <summary>One leak, by fingerprint, over the instances whose dumps show it.</summary>
/// <param name="Fingerprint">The suspects' fingerprint (16 hex digits): the same leak in every process.</param>
/// <param name="Kind"><c>object</c>, <c>instances</c> or <c>runtime</c>.</param>
/// <param name="Pattern">The known leak pattern's id, when one matched.</param>
/// <param name="InstanceCount">Instances whose dumps show it.</param>
/// <param name="Instances">Each of them, the fastest growing first.</param>
/// <param name="Headline">As the latest dump that shows it words it.</param>
/// <param name="FirstSeenUtc">The earliest dump that shows it, on any instance.</param>
/// <param name="WorstGrowthBytesPerHour">The fastest growth of any instance between its dumps; null when no instance has two dumps that show it.</param>
internal sealed record FleetLeak(
    string Fingerprint,
    string Kind,
    string Headline,
    string? Pattern,
    int InstanceCount,
    DateTimeOffset FirstSeenUtc,
    double? WorstGrowthBytesPerHour,
    IReadOnlyList<FleetLeakInstance> Instances);

/// <summary>A leak on one instance: what its latest dump retains there, and the growth from its first dump that shows it.</summary>
internal sealed record FleetLeakInstance(
    string App,
    string Instance,
    bool Live,
    long LatestRetainedBytes,
    long? GrowthBytes,
    double? GrowthBytesPerHour,
    IReadOnlyList<string> DumpIds);

/// <summary>
/// What reading the bucket took: objects listed, requests (list pages and record reads; 0 when the answer came from the
/// cache), objects that are not HeapDiag's and records that could not be read, both ignored.
/// </summary>
internal sealed record FleetScan(DateTimeOffset ReadUtc, bool Cached, int ObjectsListed, int Requests, double DurationMs, int IgnoredObjects, int DamagedRecords, IReadOnlyList<string> Problems);
