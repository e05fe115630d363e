using HeapDiag.Analysis.Internal;
using System.Diagnostics;
using System.Net;
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

    /// <summary>Requests of the warm-up: enough that the thread pool and the sockets have grown to what the load needs.</summary>
    private const int WarmUpRequests = 2_000;

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

            // The same load and one capture first, so the baseline already holds what the load itself grows (thread-pool
            // threads, sockets) and what a process's first capture loads for good (the assemblies it needs, a few file
            // descriptors each): what is left after the dumps is what the dumps left.
            var warmUp = await RunLoadAsync(app.BaseAddress, async load =>
            {
                using var first = await admin.PostAsync("/debug/heapdump?type=mini", null);
                Assert.Equal(HttpStatusCode.Created, first.StatusCode);
                await Poll.UntilAsync(() => load.Succeeded + load.Failed >= WarmUpRequests, $"{WarmUpRequests} warm-up requests");
            });
            var before = await CountersAsync(admin);

            var captureStatuses = new List<int>();
            var captureTimes = new List<double>();
            var load = await RunLoadAsync(app.BaseAddress, async _ =>
            {
                for (var i = 0; i < Dumps; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await admin.PostAsync("/debug/heapdump?type=heap", null);
                    captureStatuses.Add((int)response.StatusCode);
                    captureTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            });

            // What the dumps used is given back once they are done (sockets closed, timers disposed): wait for it, then
            // hold what is left against the baseline.
            var after = await Poll.UntilAsync(() => CountersAsync(admin), after => after.IsWithinLeakBounds(before), $"threads, descriptors and timers back within bounds of the baseline {before}", TimeSpan.FromSeconds(30));

            Assert.All(captureStatuses, status => Assert.Equal(201, status));
            Assert.Equal(0, warmUp.Failed + load.Failed);
            Assert.True(load.Succeeded > 0);
            Assert.True(after.OtherThreads <= before.OtherThreads + Counters.ThreadSlack, $"threads outside the pool {before.OtherThreads} -> {after.OtherThreads}");
            Assert.True(after.FileDescriptors <= before.FileDescriptors + Counters.DescriptorSlack, $"fds {before.FileDescriptors} -> {after.FileDescriptors}");
            Assert.True(after.Timers <= before.Timers + Counters.TimerSlack, $"timers {before.Timers} -> {after.Timers}");

            var listed = (await admin.GetFromJsonAsync<JsonElement>("/debug/heapdump")).GetProperty("dumps").EnumerateArray().ToList();
            Assert.Equal(MaxDumps, listed.Count);
            Assert.Equal(MaxDumps, Directory.GetFiles(app.DumpDirectory, "*.dmp").Length);
            Assert.Equal(MaxDumps, Directory.GetFiles(app.DumpDirectory, "*.diagnostics.json").Length);
            Assert.Empty(Directory.GetFiles(app.DumpDirectory, "*.tmp"));

            var objectCounts = Directory.GetFiles(app.DumpDirectory, "*.dmp").Select(CountObjects).ToList();
            Assert.All(objectCounts, count => Assert.True(count > 100_000, $"only {count} objects"));

            captureTimes.Sort();
            report.Record("Load while dumping", "10 heap dumps under load",
                $"SampleApi process holding 64 MB of leaked objects; {Workers} clients looping GET /hello on 127.0.0.1 while {Dumps} heap dumps were captured one after another (after a warm-up of {WarmUpRequests} requests and one mini dump); Storage:MaxDumps={MaxDumps}",
                $"{load.Succeeded} requests, {load.Failed} failed, longest {load.MaxLatencyMs:F0} ms (the writer suspends the process); captures all 201, median {captureTimes[captureTimes.Count / 2]:F0} ms; " +
                $"threads outside the thread pool {before.OtherThreads}->{after.OtherThreads} (all threads {before.Threads}->{after.Threads}), fds {before.FileDescriptors}->{after.FileDescriptors}, timers {before.Timers}->{after.Timers}; {listed.Count} dumps kept, each opened with ClrMD ({string.Join(", ", objectCounts.Select(c => $"{c:N0}"))} objects)");
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    /// <summary>Runs <see cref="Workers"/> clients looping <c>GET /hello</c> while <paramref name="whileRunning"/> runs, and counts what they saw.</summary>
    private static async Task<LoadResult> RunLoadAsync(Uri baseAddress, Func<LoadResult, Task> whileRunning)
    {
        using var stop = new CancellationTokenSource();
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var result = new LoadResult();
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(5);   // bounded even if the driver hangs
            while (!stop.IsCancellationRequested && DateTime.UtcNow < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.GetAsync("/hello");
                    result.Count(response.IsSuccessStatusCode, Stopwatch.GetTimestamp() - started);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    result.Count(false, Stopwatch.GetTimestamp() - started);
                }
            }
        })).ToList();

        try
        {
            await whileRunning(result);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        return result;
    }

    private static async Task<Counters> CountersAsync(HttpClient client)
    {
        var runtime = (await client.GetFromJsonAsync<JsonElement>("/debug/memory")).GetProperty("runtime");
        return new Counters(runtime.GetProperty("threads").GetInt32(), runtime.GetProperty("threadPoolThreads").GetInt32(), runtime.GetProperty("openFileDescriptors").GetInt32(), runtime.GetProperty("activeTimers").GetInt64());
    }

    private static long CountObjects(string dumpPath)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        using var runtime = DumpSession.CreateRuntime(target.ClrVersions.Single());

        // Not CanWalkHeap: under this load a dump may be written while a GC runs (ClrMD 4.2 says so more often than
        // 4.1 did); its objects are still all there, which is what the count shows.
        return runtime.Heap.EnumerateObjects().LongCount();
    }

    /// <summary>What the load's clients saw so far: requests answered with success, failed ones, and the slowest.</summary>
    private sealed class LoadResult
    {
        private long _succeeded;
        private long _failed;
        private long _maxTicks;

        public long Succeeded => Interlocked.Read(ref _succeeded);

        public long Failed => Interlocked.Read(ref _failed);

        public double MaxLatencyMs => Interlocked.Read(ref _maxTicks) * 1000.0 / Stopwatch.Frequency;

        public void Count(bool success, long elapsedTicks)
        {
            Interlocked.Increment(ref success ? ref _succeeded : ref _failed);
            long seen;
            while (elapsedTicks > (seen = Interlocked.Read(ref _maxTicks)) && Interlocked.CompareExchange(ref _maxTicks, elapsedTicks, seen) != seen)
            {
            }
        }
    }

    private sealed record Counters(int Threads, int PoolThreads, int FileDescriptors, long Timers)
    {
        // Thread-pool workers come and go with load (each dump suspends the process, and the pool injects workers when
        // it resumes); a leak shows in the other threads, which nothing retires.
        public const int ThreadSlack = 3;
        public const int DescriptorSlack = 10;
        public const int TimerSlack = 2;

        public int OtherThreads => Threads - PoolThreads;

        public bool IsWithinLeakBounds(Counters before) =>
            OtherThreads <= before.OtherThreads + ThreadSlack && FileDescriptors <= before.FileDescriptors + DescriptorSlack && Timers <= before.Timers + TimerSlack;
    }
}
