using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The answer of <c>GET /monitor</c>. <see cref="LastDecision"/> says what the policy made of the last sample, and so
/// why no dump was taken: <c>BelowThreshold</c>, <c>Capture</c>, <c>LimitReached</c>, <c>CoolingDown</c> or
/// <c>WaitingForGrowth</c>. <see cref="Egress"/>: the last upload and the last egress error of any capture. <see cref="MemoryMap"/>: the
/// memory map's kinds at start and now, and which kind grows (null where there is no map).
/// </summary>
internal sealed record MonitorStatus(
    bool Enabled,
    string Metric,
    double IntervalSeconds,
    MonitorThreshold Threshold,
    MonitorSample? LastSample,
    MonitorGrowth Growth,
    IReadOnlyList<AutoDumpRecord> AutoDumps,
    int MaxAutoDumps,
    int AutoDumpsRemaining,
    DateTimeOffset? NextAllowedAt,
    long? RearmAtBytes,
    MonitorError? LastError,
    string? LastDecision,
    IReadOnlyList<WindowPoint>? Window,
    HeapDumpEgressStatus? Egress = null,
    MonitorMemoryMap? MemoryMap = null);

/// <summary>The last sample: the monitored value and the three metrics.</summary>
internal sealed record MonitorSample(DateTimeOffset Timestamp, long ValueBytes, long WorkingSetBytes, long GcHeapSizeBytes, long GcCommittedBytes);

/// <summary>Growth over the sample window.</summary>
internal sealed record MonitorGrowth(double BytesPerSecond, double MbPerHour, int Samples, double RisingFraction, bool Sustained);

/// <summary>One automatic dump attempt.</summary>
internal sealed record AutoDumpRecord(int DumpNumber, DateTimeOffset At, long ValueBytes, bool Success, string? Id, string? Error);

/// <summary>The monitor's last error.</summary>
internal sealed record MonitorError(DateTimeOffset At, string Message);
