using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>A dump of SampleApi after the thread, assembly and pinned leak routes: the runtime report counts what they made.</summary>
public sealed class RuntimeReportProcessTests
{
    private const int Threads = 60;
    private const int Assemblies = 20;
    private const int PinnedMegabytes = 40;

    // One buffer in 16 of 8 KiB stays pinned (SampleApi.Leaks.OutsideHeapLeaks).
    private const int PinnedBuffers = PinnedMegabytes * 1024 / 8 / 16;

    [Fact]
    public async Task A_dump_after_the_thread_assembly_and_pinned_routes_counts_them()
    {
        await using var app = await SampleApiProcess.StartAsync(new Dictionary<string, string>());
        using var client = app.CreateAuthorizedClient();
        try
        {
            foreach (var route in new[] { $"/leak/threads?count={Threads}", $"/leak/assemblies?count={Assemblies}", $"/leak/pinned?mb={PinnedMegabytes}" })
            {
                using var leak = await client.PostAsync(route, null);
                Assert.Equal(HttpStatusCode.OK, leak.StatusCode);
            }

            using var capture = await client.PostAsync("/debug/heapdump", null);
            Assert.Equal(HttpStatusCode.Created, capture.StatusCode);
            var id = (await capture.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            using var answer = await client.GetAsync($"/debug/heapdump/{id}/runtime");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var report = await answer.Content.ReadFromJsonAsync<JsonElement>();

            var alive = report.GetProperty("threads").GetProperty("alive").GetInt32();
            Assert.InRange(alive, Threads, Threads + 60);

            var generated = report.GetProperty("modules").GetProperty("topDynamicGenerators").EnumerateArray()
                .Single(g => g.GetProperty("name").GetString() is "SampleApi.Generated*" or "Generated");
            Assert.Equal(Assemblies, generated.GetProperty("count").GetInt64());

            Assert.Contains(report.GetProperty("threads").GetProperty("states").EnumerateArray(),
                state => state.GetProperty("name").GetString() == "waiting, sleeping or joining" && state.GetProperty("count").GetInt64() >= Threads);

            // ClrMD (4.1 and 4.2) walks only the handle tables of the GC heaps DATAS has left (microsoft/clrmd#1474): on
            // this 2-core machine's per-CPU tables it lists 160 or all 320, by the CPU the pinning request ran on. The
            // report names the pinned buffers and never more than there are.
            var pinned = report.GetProperty("handles").EnumerateArray().Single(h => h.GetProperty("kind").GetString() == "Pinned");
            var buffers = pinned.GetProperty("topTypes").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "System.Byte[]");
            Assert.InRange(buffers.GetProperty("count").GetInt64(), 1, PinnedBuffers);

            // Most pinned buffers sit right after the free space the garbage before them left (a neighbour that survived, or
            // the start of a region, leaves some without).
            var causes = report.GetProperty("fragmentation").EnumerateArray()
                .SelectMany(g => g.GetProperty("pinnedCauses").EnumerateArray())
                .Where(c => c.GetProperty("type").GetString() == "System.Byte[]")
                .Sum(c => c.GetProperty("objects").GetInt64());
            Assert.InRange(causes, buffers.GetProperty("count").GetInt64() / 2, buffers.GetProperty("count").GetInt64());
        }
        finally
        {
            await app.DisposeAsync();
            Directory.Delete(app.DumpDirectory, recursive: true);
        }
    }
}
