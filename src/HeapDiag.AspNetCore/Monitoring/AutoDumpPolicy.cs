namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// Decides whether a sample over the threshold becomes a dump. Pure bookkeeping, no I/O, so every rule can be
/// driven by a test. The limits: at most <c>MaxAutoDumps</c>, at least <c>Cooldown</c> apart, and re-armed only by
/// growing <c>RearmGrowthPercent</c> past the value at the last dump or by falling below the threshold first.
/// </summary>
internal sealed class AutoDumpPolicy(AutoDumpLimits limits)
{
    private bool _fellBelowSinceLastDump = true;

    public int Attempts { get; private set; }

    public DateTimeOffset? LastAttemptAt { get; private set; }

    public long? LastAttemptValue { get; private set; }

    /// <summary>When the cooldown allows the next dump, or null when nothing holds it back in time.</summary>
    public DateTimeOffset? NextAllowedAt => LastAttemptAt + limits.Cooldown;

    /// <summary>The value the metric must reach to re-arm by growth, or null when not waiting for growth.</summary>
    public long? RearmAtBytes => LastAttemptValue is { } value && !_fellBelowSinceLastDump
        ? (long)(value * (1 + (limits.RearmGrowthPercent / 100)))
        : null;

    public AutoDumpDecision Evaluate(long value, long threshold, DateTimeOffset now)
    {
        if (value < threshold)
        {
            _fellBelowSinceLastDump = true;
            return AutoDumpDecision.BelowThreshold;
        }

        if (Attempts >= limits.MaxAutoDumps)
        {
            return AutoDumpDecision.LimitReached;
        }

        if (NextAllowedAt is { } allowed && now < allowed)
        {
            return AutoDumpDecision.CoolingDown;
        }

        if (RearmAtBytes is { } rearm && value < rearm)
        {
            return AutoDumpDecision.WaitingForGrowth;
        }

        return AutoDumpDecision.Capture;
    }

    /// <summary>
    /// Raises the value the next dump must grow past to what the metric reads after the dump and its report.
    /// Writing a dump pages in memory (createdump reads every thread's stack) and the report's analysis allocates:
    /// growth HeapDiag caused itself must not re-arm it.
    /// </summary>
    public void RaiseRearmBaseline(long valueAfterDump)
    {
        if (LastAttemptValue is { } value && valueAfterDump > value)
        {
            LastAttemptValue = valueAfterDump;
        }
    }

    /// <summary>
    /// Records an attempt. Failed captures count too: a capture that fails every time must not be retried every
    /// tick, each time suspending the process and writing diagnostics.
    /// </summary>
    public int RecordAttempt(long value, DateTimeOffset now)
    {
        Attempts++;
        LastAttemptAt = now;
        LastAttemptValue = value;
        _fellBelowSinceLastDump = false;
        return Attempts;
    }
}

/// <summary>What the policy decided for one sample.</summary>
internal enum AutoDumpDecision
{
    BelowThreshold,
    Capture,
    LimitReached,
    CoolingDown,
    WaitingForGrowth,
}
