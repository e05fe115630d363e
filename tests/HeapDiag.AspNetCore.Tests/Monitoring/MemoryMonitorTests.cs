using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Monitoring;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

public sealed class MemoryMonitorTests
{
    [Fact]
    public async Task Crossing_the_threshold_captures_an_auto_heap_dump_numbered_1()
    {
        var harness = new MonitorHarness();

        await harness.TickAsync(500);
        await harness.TickAsync(999);
        Assert.Empty(harness.Capture.Requests);

        await harness.TickAsync(1000);

        var request = Assert.Single(harness.Capture.Requests);
        Assert.Equal(new HeapDumpRequest("auto", 1, "heap"), request);
        var status = harness.Monitor.Status(includeWindow: false);
        Assert.Equal("id-1", Assert.Single(status.AutoDumps).Id);
        Assert.Equal(2, status.AutoDumpsRemaining);
    }

    [Fact]
    public async Task Cooldown_holds_the_next_dump_until_it_has_passed()
    {
        var harness = new MonitorHarness(o => o.Cooldown = TimeSpan.FromMinutes(5));

        await harness.TickAsync(1100);           // dump 1 at t0
        await harness.TickAsync(500);            // falls below: re-armed
        await harness.TickAsync(1100);           // crosses again at t0+20 s, inside the cooldown
        Assert.Equal([1], harness.DumpNumbers);
        Assert.Equal(harness.Time.GetUtcNow().AddSeconds(-30).AddMinutes(5), harness.Monitor.Status(false).NextAllowedAt);

        harness.Time.Advance(TimeSpan.FromMinutes(5));
        await harness.TickAsync(1100);

        Assert.Equal([1, 2], harness.DumpNumbers);
    }

    [Fact]
    public async Task MaxAutoDumps_caps_the_dumps_of_a_process()
    {
        var harness = new MonitorHarness(o => { o.Cooldown = TimeSpan.Zero; o.MaxAutoDumps = 2; });

        for (var i = 0; i < 4; i++)
        {
            await harness.TickAsync(1100);
            await harness.TickAsync(100);
        }

        Assert.Equal([1, 2], harness.DumpNumbers);
        Assert.Equal(0, harness.Monitor.Status(false).AutoDumpsRemaining);
    }

    [Fact]
    public async Task Staying_above_the_threshold_rearms_only_after_growing_RearmGrowthPercent()
    {
        var harness = new MonitorHarness(o => { o.Cooldown = TimeSpan.Zero; o.RearmGrowthPercent = 20; });

        await harness.TickAsync(1100);           // dump 1 at 1100: next needs 1320
        await harness.TickAsync(1200);
        await harness.TickAsync(1319);
        Assert.Equal([1], harness.DumpNumbers);
        Assert.Equal(1320, harness.Monitor.Status(false).RearmAtBytes);

        await harness.TickAsync(1320);

        Assert.Equal([1, 2], harness.DumpNumbers);
    }

    [Fact]
    public async Task Growth_caused_by_the_dump_itself_does_not_rearm()
    {
        var harness = new MonitorHarness(o => { o.Cooldown = TimeSpan.Zero; o.RearmGrowthPercent = 20; });

        // Writing the dump and analysing it raise the working set from 1100 to 1300 (createdump pages in stacks).
        harness.Capture.Answer = request =>
        {
            harness.Sampler.Value = 1300;
            return new HeapDumpResult(true, $"id-{request.DumpNumber}", null, null, 1, 1, request.Type, request.Trigger, request.DumpNumber);
        };
        await harness.TickAsync(1100);
        await harness.TickAsync(1320);          // 20 % above 1100, but not above 1300
        Assert.Equal([1], harness.DumpNumbers);
        Assert.Equal(1560, harness.Monitor.Status(false).RearmAtBytes);

        await harness.TickAsync(1560);

        Assert.Equal([1, 2], harness.DumpNumbers);
    }

    [Fact]
    public async Task Falling_below_the_threshold_and_crossing_again_rearms()
    {
        var harness = new MonitorHarness(o => o.Cooldown = TimeSpan.Zero);

        await harness.TickAsync(1100);
        await harness.TickAsync(1150);
        Assert.Equal([1], harness.DumpNumbers);

        await harness.TickAsync(900);
        await harness.TickAsync(1000);

        Assert.Equal([1, 2], harness.DumpNumbers);
    }

    [Fact]
    public async Task Percent_of_limit_sets_the_threshold_when_it_is_lower()
    {
        var harness = new MonitorHarness(o => { o.ThresholdBytes = 10_000; o.ThresholdPercentOfLimit = 50; });
        harness.Sampler.TotalAvailable = 1000;

        await harness.TickAsync(499);
        Assert.Empty(harness.Capture.Requests);
        var threshold = harness.Monitor.Status(false).Threshold;
        Assert.Equal(500, threshold.Bytes);
        Assert.Equal("percentOfLimit", threshold.Source);

        await harness.TickAsync(500);
        Assert.Equal([1], harness.DumpNumbers);
    }

    [Fact]
    public async Task Bytes_win_when_they_are_lower_than_the_percent_of_limit()
    {
        var harness = new MonitorHarness(o => { o.ThresholdBytes = 1000; o.ThresholdPercentOfLimit = 90; });
        harness.Sampler.TotalAvailable = 1_000_000;

        await harness.TickAsync(1000);

        Assert.Equal("bytes", harness.Monitor.Status(false).Threshold.Source);
        Assert.Equal([1], harness.DumpNumbers);
    }

    [Fact]
    public async Task Growth_rate_is_the_least_squares_slope_of_the_window()
    {
        var harness = new MonitorHarness(o => o.ThresholdBytes = long.MaxValue);
        const long mb = 1024 * 1024;

        // +1 MB per 10 s sample, with noise that a slope averages out.
        for (var i = 0; i < 30; i++)
        {
            await harness.TickAsync((100 * mb) + (i * mb) + (i % 2 == 0 ? 50_000 : -50_000));
        }

        var growth = harness.Monitor.Status(false).Growth;
        Assert.InRange(growth.BytesPerSecond, (mb / 10.0) - 1000, (mb / 10.0) + 1000);
        Assert.InRange(growth.MbPerHour, 359, 361);
        Assert.Equal(30, growth.Samples);
    }

    [Fact]
    public async Task The_window_keeps_only_the_last_360_samples()
    {
        var harness = new MonitorHarness(o => o.ThresholdBytes = long.MaxValue);

        for (var i = 0; i < 400; i++)
        {
            await harness.TickAsync(i);
        }

        var window = harness.Monitor.Status(includeWindow: true).Window!;
        Assert.Equal(MemoryTrend.Capacity, window.Count);
        Assert.Equal(40, window[0].Bytes);
        Assert.Equal(399, window[^1].Bytes);
    }

    [Fact]
    public async Task Sustained_growth_logs_one_warning_per_episode_not_per_sample()
    {
        var harness = new MonitorHarness(o => o.ThresholdBytes = long.MaxValue);
        const long mb = 1024 * 1024;
        var value = 100 * mb;

        for (var i = 0; i < 40; i++)
        {
            await harness.TickAsync(value += mb);   // 360 MB/h, every step up
        }

        Assert.Single(GrowthWarnings(harness));
        Assert.True(harness.Monitor.Status(false).Growth.Sustained);

        for (var i = 0; i < 60; i++)
        {
            await harness.TickAsync(value);         // flat: the episode ends
        }

        Assert.False(harness.Monitor.Status(false).Growth.Sustained);
        Assert.Single(GrowthWarnings(harness));

        for (var i = 0; i < 80; i++)
        {
            await harness.TickAsync(value += 2 * mb);
        }

        Assert.Equal(2, GrowthWarnings(harness).Count);
    }

    [Fact]
    public async Task A_throwing_sampler_is_logged_recorded_and_the_next_tick_runs()
    {
        var harness = new MonitorHarness();
        harness.Sampler.Throw = new IOException("/proc is gone");

        await harness.TickAsync(1100);
        var status = harness.Monitor.Status(false);
        Assert.Equal("/proc is gone", status.LastError?.Message);
        Assert.Contains(harness.Logs.Entries, e => e.Level == LogLevel.Error && e.Exception is IOException);
        Assert.Empty(harness.Capture.Requests);

        await harness.TickAsync(1100);

        Assert.Equal([1], harness.DumpNumbers);
    }

    [Fact]
    public async Task A_failing_capture_counts_against_the_limits_and_backs_off()
    {
        var harness = new MonitorHarness(o => { o.Cooldown = TimeSpan.FromMinutes(1); o.MaxAutoDumps = 2; });
        harness.Capture.Answer = request => FakeCapture.Fails(request, HeapDumpFailure.InsufficientStorage);

        await harness.TickAsync(1100);
        await harness.TickAsync(100);
        await harness.TickAsync(1100);        // inside the cooldown after the failure: no retry storm
        Assert.Equal([1], harness.DumpNumbers);

        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await harness.TickAsync(1100);
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await harness.TickAsync(100);
        await harness.TickAsync(1100);

        Assert.Equal([1, 2], harness.DumpNumbers);
        var status = harness.Monitor.Status(false);
        Assert.All(status.AutoDumps, dump => Assert.False(dump.Success));
        Assert.Contains("InsufficientStorage happened", status.LastError?.Message);
        Assert.Equal(0, status.AutoDumpsRemaining);
    }

    [Fact]
    public async Task A_capture_refused_as_busy_does_not_count_and_is_retried_next_tick()
    {
        var harness = new MonitorHarness();
        harness.Capture.Answer = request => FakeCapture.Fails(request, HeapDumpFailure.Busy);
        await harness.TickAsync(1100);
        await harness.TickAsync(1100);

        harness.Capture.Answer = null;
        await harness.TickAsync(1100);

        Assert.Equal([1, 1, 1], harness.DumpNumbers);
        Assert.True(Assert.Single(harness.Monitor.Status(false).AutoDumps).Success);

        // The crossing is logged once for the dump, not on every tick the manual capture made it wait.
        Assert.Single(harness.Logs.Entries, e => e.EventId.Id == 3001);
    }

    [Fact]
    public async Task Each_successful_auto_dump_is_reported_against_the_previous_one()
    {
        var harness = new MonitorHarness(o => o.Cooldown = TimeSpan.Zero);

        await harness.TickAsync(1100);
        await harness.TickAsync(100);
        harness.Capture.Answer = request => FakeCapture.Fails(request, HeapDumpFailure.WriterFailed);
        await harness.TickAsync(1100);
        await harness.TickAsync(100);
        harness.Capture.Answer = null;
        await harness.TickAsync(1100);

        Assert.Equal([("id-1", null), ("id-3", "id-1")], harness.Reporter.Calls);
    }

    private static List<string> GrowthWarnings(MonitorHarness harness) =>
        [.. harness.Logs.Entries.Where(e => e.EventId.Id == 3002).Select(e => e.Message)];
}
