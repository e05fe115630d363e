using System.Net;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>GET /memory: every field of the diagnostics measured in this process, and the leak indicators they feed.</summary>
public sealed class MemoryEndpointTests
{
    [Fact]
    public async Task Memory_reports_every_field_with_plausible_values()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.Client.GetAsync("/debug/memory");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;

        Assert.True(root.GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Equal(Environment.ProcessId, root.GetProperty("instance").GetProperty("processId").GetInt32());
        Assert.Equal(12, root.GetProperty("instance").GetProperty("sessionId").GetString()!.Length);
        Assert.Equal("request", root.GetProperty("trigger").GetString());
        Assert.Equal(0, root.GetProperty("dumpNumber").GetInt32());
        Assert.True(root.GetProperty("uptimeSeconds").GetDouble() > 0);

        var memory = root.GetProperty("memoryUsage");
        var rss = memory.GetProperty("workingSetBytes").GetInt64();
        var heap = memory.GetProperty("gcHeapSizeBytes").GetInt64();
        Assert.True(heap > 0);
        Assert.True(rss >= heap, $"RSS {rss} < GC heap {heap}");
        Assert.True(memory.GetProperty("peakWorkingSetBytes").GetInt64() >= rss);
        Assert.True(memory.GetProperty("privateBytes").GetInt64() > 0);
        Assert.True(memory.GetProperty("gcCommittedBytes").GetInt64() >= heap);
        Assert.True(memory.GetProperty("totalAllocatedBytes").GetInt64() > 0);
        Assert.True(memory.GetProperty("fragmentedBytes").GetInt64() >= 0);
        Assert.True(memory.GetProperty("nativeEstimateBytes").GetInt64() >= 0);

        var generations = root.GetProperty("generations").EnumerateArray().Select(g => g.GetProperty("name").GetString()).ToList();
        Assert.Equal(["gen0", "gen1", "gen2", "loh", "poh"], generations);

        var gc = root.GetProperty("gc");
        Assert.True(gc.GetProperty("gen0Collections").GetInt32() >= gc.GetProperty("gen1Collections").GetInt32());
        Assert.True(gc.GetProperty("totalPauseMilliseconds").GetDouble() >= 0);
        Assert.True(gc.GetProperty("totalAvailableMemoryBytes").GetInt64() > 0);
        Assert.True(gc.GetProperty("highMemoryLoadThresholdBytes").GetInt64() > 0);
        Assert.NotEqual(JsonValueKind.Null, gc.GetProperty("isConcurrent").ValueKind);
        Assert.False(string.IsNullOrEmpty(gc.GetProperty("latencyMode").GetString()));
        Assert.True(gc.GetProperty("finalizationPendingCount").GetInt64() >= 0);

        var growth = root.GetProperty("memoryGrowthRate");
        Assert.True(growth.GetProperty("bytesPerSecond").GetDouble() > 0);
        Assert.Equal("rss/uptime", growth.GetProperty("source").GetString());

        var runtime = root.GetProperty("runtime");
        Assert.True(runtime.GetProperty("threads").GetInt32() > 0);
        Assert.True(runtime.GetProperty("threadPoolThreads").GetInt32() >= 0);
        Assert.True(runtime.GetProperty("activeTimers").GetInt64() >= 0);
        Assert.True(runtime.GetProperty("loadedAssemblies").GetInt32() > 10);
        Assert.True(runtime.GetProperty("assemblyLoadContexts").GetInt32() >= 1);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(runtime.GetProperty("openFileDescriptors").GetInt32() > 0);
            Assert.Contains("Rss:", root.GetProperty("smapsRollup").GetString());
        }

        var cpu = root.GetProperty("resourceUsage");
        Assert.True(cpu.GetProperty("userCpuSeconds").GetDouble() > 0);
        Assert.True(cpu.GetProperty("systemCpuSeconds").GetDouble() >= 0);

        Assert.Equal(JsonValueKind.Array, root.GetProperty("analysis").GetProperty("potentialLeaks").ValueKind);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("analysis").GetProperty("recommendation").GetString()));

        var platform = root.GetProperty("platform");
        Assert.StartsWith(".NET 10", platform.GetProperty("runtimeVersion").GetString());
        Assert.False(string.IsNullOrEmpty(platform.GetProperty("libraryVersion").GetString()));
        Assert.False(string.IsNullOrEmpty(platform.GetProperty("os").GetString()));
    }

    [Fact]
    public async Task Two_hundred_undisposed_timers_raise_the_timer_indicator()
    {
        await using var host = await TestHost.StartAsync();
        var timers = Enumerable.Range(0, 200).Select(_ => new Timer(_ => { }, null, TimeSpan.FromHours(1), Timeout.InfiniteTimeSpan)).ToList();
        try
        {
            using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/memory"));

            var leaks = json.RootElement.GetProperty("analysis").GetProperty("potentialLeaks").EnumerateArray().Select(l => l.GetString()!).ToList();
            Assert.Contains(leaks, leak => leak.Contains("active timers"));
            Assert.StartsWith("WARNING:", json.RootElement.GetProperty("analysis").GetProperty("recommendation").GetString());
        }
        finally
        {
            timers.ForEach(timer => timer.Dispose());
        }
    }

    [Fact]
    public async Task Smaps_rollup_can_be_turned_off()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["HeapDiagnostics:IncludeSmapsRollup"] = "false" });

        using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/debug/memory"));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("smapsRollup").ValueKind);
    }
}
