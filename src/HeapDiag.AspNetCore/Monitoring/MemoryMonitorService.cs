using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The hosted loop around <see cref="MemoryMonitor"/>: one tick per <c>Monitor:Interval</c>, on a timer driven by
/// <see cref="TimeProvider"/>. At shutdown the loop stops at once; a capture already running is not waited for
/// beyond the host's shutdown timeout (the host cancels the stopping token, and the tick's wait ends with it).
/// </summary>
internal sealed class MemoryMonitorService(MemoryMonitor monitor, MemoryMapSampling maps, MemoryMetrics metrics, TimeProvider timeProvider, IOptions<MemoryMonitorOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        metrics.Publish();
        using var timer = new PeriodicTimer(settings.Interval, timeProvider);
        try
        {
            do
            {
                maps.OnTick();
                await monitor.TickAsync(stoppingToken).WaitAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }
}
