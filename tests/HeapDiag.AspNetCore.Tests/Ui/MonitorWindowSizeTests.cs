using System.Net;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Ui;

/// <summary>The page polls GET /monitor?window=true every interval: a full window must stay small on the wire.</summary>
public sealed class MonitorWindowSizeTests(ITestOutputHelper output)
{
    private const int BudgetBytes = 60 * 1024;

    [Fact]
    public async Task A_full_window_of_360_samples_of_a_large_process_is_at_most_60_KB()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 15, 0, 123, TimeSpan.Zero));
        var sampler = new LargeProcessSampler(time);
        await using var host = await TestHost.StartAsync(
            new Dictionary<string, string?> { ["HeapDiagnostics:Monitor:ThresholdBytes"] = (64L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture) },
            services: services =>
            {
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
                services.Replace(ServiceDescriptor.Singleton<IMemorySampler>(sampler));
            });
        var monitor = host.Services.GetRequiredService<MemoryMonitor>();
        for (var tick = 0; tick < MemoryTrend.Capacity + 40; tick++)
        {
            await monitor.TickAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromMilliseconds(10_007));
        }

        using var response = await host.Client.GetAsync("/debug/monitor?window=true");
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        var window = json.RootElement.GetProperty("window");
        Assert.Equal(MemoryTrend.Capacity, window.GetArrayLength());
        var last = window[MemoryTrend.Capacity - 1];
        Assert.Equal(last.GetProperty("workingSetBytes").GetInt64(), last.GetProperty("bytes").GetInt64());
        Assert.True(last.GetProperty("gcHeapSizeBytes").GetInt64() > 9_000_000_000);
        Assert.True(last.GetProperty("gcCommittedBytes").GetInt64() > 10_000_000_000);
        var indented = JsonSerializer.SerializeToUtf8Bytes(json.RootElement, new JsonSerializerOptions { WriteIndented = true });
        output.WriteLine($"GET /monitor?window=true with {MemoryTrend.Capacity} samples: {body.Length:N0} bytes (indented it would be {indented.Length:N0}).");
        Assert.True(body.Length <= BudgetBytes, $"{body.Length:N0} bytes, over the {BudgetBytes:N0}-byte budget");
    }

    /// <summary>A process of 12 GB (11-digit byte counts, the widest a window is likely to carry), rising a little each sample.</summary>
    private sealed class LargeProcessSampler(TimeProvider time) : IMemorySampler
    {
        private long _step;

        public MemorySample Sample()
        {
            var grown = ++_step * 1_048_583;
            return new MemorySample(time.GetUtcNow(), 12_345_678_901 + grown, 9_876_543_210 + grown, 10_987_654_321 + grown, 64L << 30);
        }
    }
}
