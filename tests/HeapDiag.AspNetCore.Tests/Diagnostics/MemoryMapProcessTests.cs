using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>
/// The memory map of a real SampleApi process: each leak outside the GC heap lands in its kind, <c>/memory</c> names
/// it, and the kinds add up to the resident set at rest and under load.
/// </summary>
public sealed class MemoryMapProcessTests
{
    private const long Mb = 1024 * 1024;

    [Theory]
    [InlineData("/leak/native?mb=200", "nativeHeap", "of which native heap +")]
    [InlineData("/leak/threads?count=200", "threadStacks", "of which thread stacks +")]
    // An emitted assembly's compiled code and the runtime's data beside it (the doublemapped executable memory) are code;
    // its IL and metadata (malloc'ed) are native heap, a small part for the route's code-heavy assemblies.
    [InlineData("/leak/assemblies?count=100", "code", "of which code +")]
    [InlineData("/leak/pinned?mb=200", "gcHeap", "of which free +")]
    public async Task Each_demo_route_grows_the_kind_it_leaks_and_memory_names_it(string route, string kind, string indicator)
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        try
        {
            var before = await MapAsync(client);
            using (var leak = await client.PostAsync(route, null))
            {
                Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            }

            var after = await MapAsync(client);
            var grown = after.GetProperty("residentBytes").GetInt64() - before.GetProperty("residentBytes").GetInt64();
            var kindGrown = Kind(after, kind) - Kind(before, kind);
            Assert.True(grown > 50 * Mb, $"{route} grew the resident set by {grown / Mb} MB only");
            Assert.True(kindGrown >= grown * 0.8, $"{route}: {kind} grew {kindGrown / Mb} MB of {grown / Mb} MB\nbefore: {before}\nafter: {after}");
            var largest = new[] { "gcHeap", "threadStacks", "code", "loadedFiles", "nativeHeap", "otherAnonymous" }.MaxBy(k => Kind(after, k) - Kind(before, k));
            Assert.Equal(kind, largest);

            var memory = await client.GetFromJsonAsync<JsonElement>("/debug/memory");
            var first = memory.GetProperty("analysis").GetProperty("potentialLeaks")[0].GetString()!;
            Assert.Contains(indicator, first);
            Assert.Equal(JsonValueKind.Object, memory.GetProperty("memoryMap").ValueKind);
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task The_kinds_add_up_to_the_resident_set_at_rest_and_under_load()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                await AssertAddsUpAsync(app, client, "at rest");
            }

            // Load: ordinary requests, /memory and a leak that allocates, from four clients at once, while the map is read.
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 4).Select(n => LoadAsync(app, n, stop.Token)).ToList();
            try
            {
                for (var i = 0; i < 5; i++)
                {
                    await AssertAddsUpAsync(app, client, "under load");
                }
            }
            finally
            {
                await stop.CancelAsync();
                await Task.WhenAll(load);
            }
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }

    /// <remarks>
    /// Under load the resident set moves while the map is read (a leak request allocates meanwhile), so the test reads
    /// the kernel's counter itself just before and just after the request, and the kinds must lie within 1 % of that
    /// bracket; the map's own <c>workingSetBytes</c>, read right after its smaps pass, is held to the same bracket.
    /// </remarks>
    private static async Task AssertAddsUpAsync(SampleApiProcess app, HttpClient client, string when)
    {
        var before = ResidentSetOf(app.ProcessId);
        var map = await MapAsync(client);
        var after = ResidentSetOf(app.ProcessId);
        var resident = map.GetProperty("residentBytes").GetInt64();
        Assert.Equal(resident, map.GetProperty("kinds").EnumerateArray().Sum(k => k.GetProperty("bytes").GetInt64()));
        var low = Math.Min(before, after) * 99 / 100;
        var high = Math.Max(before, after) * 101 / 100;
        Assert.True(resident >= low && resident <= high, $"{when}: the kinds add up to {resident:N0} bytes, the resident set was {before:N0} before the request and {after:N0} after it");
    }

    /// <summary>VmRSS of the process, from /proc/PID/status, in bytes.</summary>
    private static long ResidentSetOf(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    private static async Task LoadAsync(SampleApiProcess app, int client, CancellationToken stop)
    {
        using var http = app.CreateAuthorizedClient();
        string[] routes = ["/hello", "/debug/memory", "/hello"];
        try
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var answer = i % 10 == client
                    ? await http.PostAsync("/leak/cache?mb=2", null, stop)
                    : await http.GetAsync(routes[i % routes.Length], stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    internal static async Task<JsonElement> MapAsync(HttpClient client)
    {
        using var answer = await client.GetAsync("/debug/memory/map");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static long Kind(JsonElement map, string kind) =>
        map.GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == kind).GetProperty("bytes").GetInt64();
}
