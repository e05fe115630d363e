using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace HeapDiag.AspNetCore.Tests.Monitoring;

/// <summary>Memory that a test sets by hand; can be told to throw.</summary>
internal sealed class ScriptedSampler(TimeProvider time) : IMemorySampler
{
    public long Value { get; set; }

    public long TotalAvailable { get; set; } = 16L << 30;

    public Exception? Throw { get; set; }

    public MemorySample Sample()
    {
        if (Throw is { } error)
        {
            Throw = null;
            throw error;
        }

        return new MemorySample(time.GetUtcNow(), Value, Value, Value, TotalAvailable);
    }
}

/// <summary>Records capture requests and answers with a scripted result.</summary>
internal sealed class FakeCapture : IHeapDumpCapture
{
    public List<HeapDumpRequest> Requests { get; } = [];

    public Func<HeapDumpRequest, HeapDumpResult>? Answer { get; set; }

    public Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken)
    {
        Requests.Add(request);
        var result = Answer?.Invoke(request)
            ?? new HeapDumpResult(true, $"id-{request.DumpNumber}", "/dumps/x.dmp", "/dumps/x.json", 100, 5, request.Type, request.Trigger, request.DumpNumber);
        return Task.FromResult(result);
    }

    public static HeapDumpResult Fails(HeapDumpRequest request, HeapDumpFailure failure) =>
        new(false, null, null, null, 0, 0, request.Type, request.Trigger, request.DumpNumber, $"{failure} happened", failure, "fix it");
}

/// <summary>Records which dumps the monitor asked to have analysed.</summary>
internal sealed class FakeReporter : IAutoDumpReporter
{
    public List<(string DumpId, string? PreviousDumpId)> Calls { get; } = [];

    public Task<AutoDumpLeakReport?> ReportAsync(string dumpId, string? previousDumpId, CancellationToken cancellationToken)
    {
        Calls.Add((dumpId, previousDumpId));
        return Task.FromResult<AutoDumpLeakReport?>(null);
    }
}

/// <summary>A monitor wired to fakes, with the clock advanced one interval per tick.</summary>
internal sealed class MonitorHarness
{
    public MonitorHarness(Action<MemoryMonitorOptions>? configure = null)
    {
        var options = new MemoryMonitorOptions { Interval = TimeSpan.FromSeconds(10), ThresholdBytes = 1000 };
        configure?.Invoke(options);
        Options = options;
        Sampler = new ScriptedSampler(Time);
        var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Monitor = new MemoryMonitor(Sampler, Trend, new AutoDumpAction(Capture, Reporter), Time, Microsoft.Extensions.Options.Options.Create(options), loggerFactory.CreateLogger<MemoryMonitor>());
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));

    public ScriptedSampler Sampler { get; }

    public FakeCapture Capture { get; } = new();

    public FakeReporter Reporter { get; } = new();

    public MemoryTrend Trend { get; } = new();

    public CapturingLoggerProvider Logs { get; } = new();

    public MemoryMonitorOptions Options { get; }

    public MemoryMonitor Monitor { get; }

    /// <summary>Sets the metric, runs one tick, then moves the clock one interval on.</summary>
    public async Task TickAsync(long value)
    {
        Sampler.Value = value;
        await Monitor.TickAsync(CancellationToken.None);
        Time.Advance(Options.Interval);
    }

    public IReadOnlyList<int> DumpNumbers => [.. Capture.Requests.Select(r => r.DumpNumber)];
}
