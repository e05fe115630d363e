using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// Degraded when the monitored metric is above <c>Monitor:HealthDegradedFraction</c> of the threshold: a warning
/// for load balancers and dashboards before the automatic dump fires. Samples itself, so it works with the
/// monitor off too.
/// </summary>
internal sealed class MemoryThresholdHealthCheck(IMemorySampler sampler, IOptions<MemoryMonitorOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var monitor = options.Value;
        var sample = sampler.Sample();
        var value = sample.Value(monitor.Metric);
        var threshold = MonitorThreshold.Resolve(monitor.Trigger, sample.TotalAvailableMemoryBytes);
        var data = new Dictionary<string, object>
        {
            ["metric"] = monitor.Metric.ToString(),
            ["valueBytes"] = value,
            ["thresholdBytes"] = threshold.Bytes,
        };

        var degradedAt = (long)(threshold.Bytes * monitor.HealthDegradedFraction);
        return Task.FromResult(value >= degradedAt
            ? HealthCheckResult.Degraded($"{monitor.Metric} is {value / (1024 * 1024)} MB, above {monitor.HealthDegradedFraction:P0} of the {threshold.Bytes / (1024 * 1024)} MB dump threshold.", data: data)
            : HealthCheckResult.Healthy($"{monitor.Metric} is {value / (1024 * 1024)} MB of a {threshold.Bytes / (1024 * 1024)} MB dump threshold.", data));
    }
}
