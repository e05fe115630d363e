using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using HeapDiag.AspNetCore.Capture;

namespace HeapDiag.AspNetCore;

/// <summary>
/// Validates <see cref="HeapDiagnosticsOptions"/> at start-up. Each failure names the configuration key
/// and says how to fix it, because the person reading it is usually editing an environment variable.
/// </summary>
internal sealed partial class HeapDiagnosticsOptionsValidator : IValidateOptions<HeapDiagnosticsOptions>
{
    internal const int MinimumApiKeyLength = 32;
    internal const long MinimumAnalysisBudgetBytes = 64L << 20;
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
        ValidateEgress(options.Egress, failures);
        ValidateAnalysis(options.Analysis, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateAnalysis(HeapAnalysisOptions analysis, List<string> failures)
    {
        if (!Enum.IsDefined(analysis.Mode))
        {
            failures.Add($"{Section}:Analysis:Mode is '{analysis.Mode}'; it must be ChildProcess or Off.");
        }

        if (analysis.MaxMemoryBytes is < MinimumAnalysisBudgetBytes)
        {
            failures.Add($"{Section}:Analysis:MaxMemoryBytes is {analysis.MaxMemoryBytes}; it must be at least {MinimumAnalysisBudgetBytes} (64 MiB), or left unset for what is left below the memory limit.");
        }

        if (analysis.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:Analysis:Timeout is {analysis.Timeout}; it must be positive, for example '00:10:00'.");
        }

        if (analysis.SuspectThresholdPercent is <= 0 or > 100 || double.IsNaN(analysis.SuspectThresholdPercent))
        {
            failures.Add($"{Section}:Analysis:SuspectThresholdPercent is {analysis.SuspectThresholdPercent}; it must be more than 0 and at most 100, for example 10.");
        }
    }

    private static void ValidateEgress(HeapDumpEgressOptions egress, List<string> failures)
    {
        if (!Enum.IsDefined(egress.Provider))
        {
            failures.Add($"{Section}:Egress:Provider is {egress.Provider}; it must be FileSystem (the default) or S3.");
            return;
        }

        // The S3 settings matter only when they are used: a half-filled section left for later must not stop an app
        // that keeps its dumps on disk.
        if (egress.Provider != HeapDumpEgressProvider.S3)
        {
            return;
        }

        var s3 = egress.S3;
        if (!Enum.IsDefined(s3.Compression))
        {
            failures.Add($"{Section}:Egress:S3:Compression is {s3.Compression}; it must be zstd (the default) or none.");
        }

        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is empty; Egress:Provider is S3, so name an existing bucket (HeapDiagnostics__Egress__S3__Bucket=my-dumps), or set Egress:Provider to FileSystem.");
        }
        else if (!BucketName().IsMatch(s3.Bucket))
        {
            failures.Add($"{Section}:Egress:S3:Bucket is '{s3.Bucket}'; a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, for example 'heapdumps'.");
        }

        if (!string.IsNullOrWhiteSpace(s3.ServiceUrl)
            && (!Uri.TryCreate(s3.ServiceUrl, UriKind.Absolute, out var serviceUrl) || (serviceUrl.Scheme != Uri.UriSchemeHttp && serviceUrl.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{Section}:Egress:S3:ServiceUrl is '{s3.ServiceUrl}'; it must be an absolute http:// or https:// URL of an S3-compatible server, for example 'http://minio:9000', or empty for AWS S3.");
        }

        if (!string.IsNullOrWhiteSpace(s3.Region) && !RegionName().IsMatch(s3.Region))
        {
            failures.Add($"{Section}:Egress:S3:Region is '{s3.Region}'; it must be a region name such as 'eu-west-1' (lower-case letters, digits and hyphens), or empty.");
        }

        if (s3.Prefix is { Length: > 512 })
        {
            failures.Add($"{Section}:Egress:S3:Prefix is {s3.Prefix.Length} characters long; keep it under 512 so object keys stay within S3's 1024-byte limit.");
        }
        else if (s3.Prefix is { } prefix && (prefix.Any(char.IsControl) || prefix.Split('/').Any(segment => segment is "." or "..")))
        {
            failures.Add($"{Section}:Egress:S3:Prefix is '{prefix}'; it must not contain control characters or '.'/'..' segments, for example 'heapdumps/prod'.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9-]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();

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
