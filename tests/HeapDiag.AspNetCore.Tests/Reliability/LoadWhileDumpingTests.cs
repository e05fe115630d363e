using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Diagnostics.Runtime;

namespace HeapDiag.AspNetCore.Tests.Reliability;

[Collection(CaptureCollection.Name)]
[Trait("Category", ReliabilityReport.Category)]
public sealed class LoadWhileDumpingTests(ReliabilityReport report)
{
    private const int Dumps = 10;
    private const int MaxDumps = 3;
    private const int Workers = 8;

    [Fact]
    public async Task Ten_dumps_under_load_lose_no_request_leak_nothing_and_keep_exactly_MaxDumps()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>
        {
            ["HeapDiagnostics__Storage__MaxDumps"] = MaxDumps.ToString(),
            ["HeapDiagnostics__Monitor__Enabled"] = "false",
        });
        using var admin = app.CreateAuthorizedClient();
        try
        {
            (await admin.PostAsync("/leak/cache?mb=64", null)).Dispose();

            // The same load without dumps first, so the baseline already holds what the load itself grows
            // (thread-pool threads, sockets): what is left after the dumps is what the dumps left.
            var warmUp = await RunLoadAsync(app.BaseAddress, () => Task.Delay(TimeSpan.FromSeconds(5)));
            var before = await CountersAsync(admin);

            var captureStatuses = new List<int>();
            var captureTimes = new List<double>();
            var load = await RunLoadAsync(app.BaseAddress, async () =>
            {
                for (var i = 0; i < Dumps; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await admin.PostAsync("/debug/heapdump?type=heap", null);
                    captureStatuses.Add((int)response.StatusCode);
                    captureTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            });

            await Task.Delay(TimeSpan.FromSeconds(2));
            var after = await CountersAsync(admin);

            Assert.All(captureStatuses, status => Assert.Equal(201, status));
            Assert.Equal(0, warmUp.Failed + load.Failed);
            Assert.True(load.Succeeded > 0);
            // Thread-pool workers come and go with load (each dump suspends the process, and the pool injects
            // workers when it resumes); a leak shows in the other threads, which nothing retires.
            Assert.True(after.OtherThreads <= before.OtherThreads + 3, $"threads outside the pool {before.OtherThreads} -> {after.OtherThreads}");
            Assert.True(after.FileDescriptors <= before.FileDescriptors + 10, $"fds {before.FileDescriptors} -> {after.FileDescriptors}");
            Assert.True(after.Timers <= before.Timers + 2, $"timers {before.Timers} -> {after.Timers}");

            var listed = (await admin.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().ToList();
            Assert.Equal(MaxDumps, listed.Count);
            Assert.Equal(MaxDumps, Directory.GetFiles(app.DumpDirectory, "*.dmp").Length);
            Assert.Equal(MaxDumps, Directory.GetFiles(app.DumpDirectory, "*.diagnostics.json").Length);
            Assert.Empty(Directory.GetFiles(app.DumpDirectory, "*.tmp"));

            var objectCounts = Directory.GetFiles(app.DumpDirectory, "*.dmp").Select(CountObjects).ToList();
            Assert.All(objectCounts, count => Assert.True(count > 100_000, $"only {count} objects"));

            captureTimes.Sort();
            report.Record("Load while dumping", "10 heap dumps under load",
                $"SampleApi process holding 64 MB of leaked objects; {Workers} clients looping GET /hello on 127.0.0.1 while {Dumps} heap dumps were captured one after another; Storage:MaxDumps={MaxDumps}",
                $"{load.Succeeded} requests, {load.Failed} failed, longest {load.MaxLatencyMs:F0} ms (the writer suspends the process); captures all 201, median {captureTimes[captureTimes.Count / 2]:F0} ms; " +
                $"threads outside the thread pool {before.OtherThreads}->{after.OtherThreads} (all threads {before.Threads}->{after.Threads}), fds {before.FileDescriptors}->{after.FileDescriptors}, timers {before.Timers}->{after.Timers}; {listed.Count} dumps kept, each opened with ClrMD ({string.Join(", ", objectCounts.Select(c => $"{c:N0}"))} objects)");
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    private static async Task<LoadResult> RunLoadAsync(Uri baseAddress, Func<Task> whileRunning)
    {
        using var stop = new CancellationTokenSource();
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        long succeeded = 0, failed = 0, maxTicks = 0;
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(5);   // bounded even if the driver hangs
            while (!stop.IsCancellationRequested && DateTime.UtcNow < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.GetAsync("/hello");
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref succeeded : ref failed);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
                catch (TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }

                var elapsed = Stopwatch.GetTimestamp() - started;
                long seen;
                while (elapsed > (seen = Interlocked.Read(ref maxTicks)) && Interlocked.CompareExchange(ref maxTicks, elapsed, seen) != seen)
                {
                }
            }
        })).ToList();

        try
        {
            await whileRunning();
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        return new LoadResult(succeeded, failed, maxTicks * 1000.0 / Stopwatch.Frequency);
    }

    private static async Task<Counters> CountersAsync(HttpClient client)
    {
        var runtime = (await client.GetFromJsonAsync<JsonElement>("/debug/memory")).GetProperty("runtime");
        return new Counters(runtime.GetProperty("threads").GetInt32(), runtime.GetProperty("threadPoolThreads").GetInt32(), runtime.GetProperty("openFileDescriptors").GetInt32(), runtime.GetProperty("activeTimers").GetInt64());
    }

    private static long CountObjects(string dumpPath)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        using var runtime = target.ClrVersions.Single().CreateRuntime();
        Assert.True(runtime.Heap.CanWalkHeap);
        return runtime.Heap.EnumerateObjects().LongCount();
    }

    private sealed record LoadResult(long Succeeded, long Failed, double MaxLatencyMs);

    private sealed record Counters(int Threads, int PoolThreads, int FileDescriptors, long Timers)
    {
        public int OtherThreads => Threads - PoolThreads;
    }
}
