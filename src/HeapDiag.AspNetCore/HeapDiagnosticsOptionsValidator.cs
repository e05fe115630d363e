using Microsoft.Extensions.Options;
using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Validates <see cref="HeapDiagnosticsOptions"/> at start-up. Each failure names the configuration key
/// and says how to fix it, because the person reading it is usually editing an environment variable.
/// </summary>
internal sealed class HeapDiagnosticsOptionsValidator : IValidateOptions<HeapDiagnosticsOptions>
{
    internal const int MinimumApiKeyLength = 32;
    private const string Section = HeapDiagnosticsOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, HeapDiagnosticsOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.RoutePrefix) || !options.RoutePrefix.StartsWith('/') || options.RoutePrefix.Contains('{', StringComparison.Ordinal))
        {
            failures.Add($"{Section}:RoutePrefix is '{options.RoutePrefix}'; it must be a literal path starting with '/', for example '/debug'.");
        }

        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i] ?? string.Empty;
            if (key.Length < MinimumApiKeyLength)
            {
                // The key itself is never echoed: only its length.
                failures.Add($"{Section}:ApiKeys:{i} is {key.Length} characters long; API keys must be at least {MinimumApiKeyLength} characters. Generate one with 'openssl rand -hex 32'.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Role))
        {
            failures.Add($"{Section}:Role is empty; name the role that grants access, for example 'HeapDiagnostics'.");
        }

        if (string.IsNullOrWhiteSpace(options.Policy))
        {
            failures.Add($"{Section}:Policy is empty; name the authorization policy, for example 'HeapDiagnostics'.");
        }

        if (string.IsNullOrWhiteSpace(options.Storage.Directory))
        {
            failures.Add($"{Section}:Storage:Directory is empty; set it to a writable directory, for example '/var/dumps'.");
        }

        if (options.Storage.MaxDumps < 1)
        {
            failures.Add($"{Section}:Storage:MaxDumps is {options.Storage.MaxDumps}; it must be at least 1.");
        }

        if (options.Storage.MaxTotalBytes is <= 0)
        {
            failures.Add($"{Section}:Storage:MaxTotalBytes is {options.Storage.MaxTotalBytes}; it must be positive, or left unset for no limit.");
        }

        if (options.Storage.ReserveBytes < 0)
        {
            failures.Add($"{Section}:Storage:ReserveBytes is {options.Storage.ReserveBytes}; it must be zero or more.");
        }

        if (options.Capture.MinInterval < TimeSpan.Zero)
        {
            failures.Add($"{Section}:Capture:MinInterval is {options.Capture.MinInterval}; it must be zero or more, for example '00:01:00'.");
        }

        if (!HeapDumpTypes.TryParse(options.Capture.DefaultType, out _))
        {
            failures.Add($"{Section}:Capture:DefaultType is '{options.Capture.DefaultType}'; it must be one of {HeapDumpTypes.AllowedList}.");
        }

        ValidateMonitor(options.Monitor, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateMonitor(MemoryMonitorOptions monitor, List<string> failures)
    {
        if (monitor.Interval < TimeSpan.FromMilliseconds(100))
        {
            failures.Add($"{Section}:Monitor:Interval is {monitor.Interval}; it must be at least 00:00:00.1, for example '00:00:10'.");
        }

        if (!Enum.IsDefined(monitor.Metric))
        {
            failures.Add($"{Section}:Monitor:Metric is {monitor.Metric}; it must be WorkingSet, GcHeapSize or GcCommitted.");
        }

        if (monitor.ThresholdBytes <= 0)
        {
            failures.Add($"{Section}:Monitor:ThresholdBytes is {monitor.ThresholdBytes}; it must be positive, for example 1610612736 (1.5 GiB).");
        }

        if (monitor.ThresholdPercentOfLimit is { } percent && (double.IsNaN(percent) || percent <= 0 || percent > 100))
        {
            failures.Add($"{Section}:Monitor:ThresholdPercentOfLimit is {percent}; it must be above 0 and at most 100, for example 80.");
        }

        if (monitor.MaxAutoDumps < 0)
        {
            failures.Add($"{Section}:Monitor:MaxAutoDumps is {monitor.MaxAutoDumps}; it must be zero or more.");
        }

        if (monitor.Cooldown < TimeSpan.Zero)
        {
            failures.Add($"{Section}:Monitor:Cooldown is {monitor.Cooldown}; it must be zero or more, for example '01:00:00'.");
        }

        if (double.IsNaN(monitor.RearmGrowthPercent) || monitor.RearmGrowthPercent < 0)
        {
            failures.Add($"{Section}:Monitor:RearmGrowthPercent is {monitor.RearmGrowthPercent}; it must be zero or more, for example 20.");
        }

        if (double.IsNaN(monitor.LeakGrowthMbPerHour) || monitor.LeakGrowthMbPerHour <= 0)
        {
            failures.Add($"{Section}:Monitor:LeakGrowthMbPerHour is {monitor.LeakGrowthMbPerHour}; it must be positive, for example 100.");
        }

        if (double.IsNaN(monitor.HealthDegradedFraction) || monitor.HealthDegradedFraction <= 0 || monitor.HealthDegradedFraction > 1)
        {
            failures.Add($"{Section}:Monitor:HealthDegradedFraction is {monitor.HealthDegradedFraction}; it must be above 0 and at most 1, for example 0.9.");
        }
    }
}
