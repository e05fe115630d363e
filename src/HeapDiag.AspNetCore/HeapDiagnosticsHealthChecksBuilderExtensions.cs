using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Monitoring;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds HeapDiag's memory health check to the app's health checks.</summary>
public static class HeapDiagnosticsHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that reports Degraded when the monitored memory metric is above
    /// <see cref="HeapDiag.AspNetCore.MemoryMonitorOptions.HealthDegradedFraction"/> of the automatic dump threshold.
    /// Requires <c>AddHeapDiagnostics()</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default <c>heapdiag-memory</c>.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static IHealthChecksBuilder AddHeapDiagnostics(this IHealthChecksBuilder builder, string name = "heapdiag-memory", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => services.GetService<HeapDiagnosticsMarker>() is null
                ? throw new InvalidOperationException("Unable to find the required services. Add them by calling 'IServiceCollection.AddHeapDiagnostics' in the application startup code.")
                : ActivatorUtilities.CreateInstance<MemoryThresholdHealthCheck>(services),
            HealthStatus.Degraded,
            tags ?? []));
    }
}
