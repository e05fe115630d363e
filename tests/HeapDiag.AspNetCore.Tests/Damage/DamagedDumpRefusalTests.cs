using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.Analysis.Internal;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// Past 1 % of reachable objects unreadable, a dump is refused with 422 <c>DumpDamaged</c> and the counts, never a
/// report built on guesswork: for the summary, the leak suspects and the automatic report's log line. The dump is the
/// test target's, damaged the same way every run (<see cref="DamagedTargetDump"/>).
/// </summary>
[Collection(CaptureCollection.Name)]
public sealed class DamagedDumpRefusalTests(DamagedTargetDump dump) : IClassFixture<DamagedTargetDump>
{
    private const int LeakReportLogged = 4101;

    private static readonly string Refusal = string.Create(CultureInfo.InvariantCulture, $"more than 1 % of its reachable objects could not be read ({DamagedTargetDump.DamagedMarkers:N0} objects skipped, 0 references dropped, ");

    /// <summary>
    /// The whole-heap count reads regular segments from the mapped dump and hands a segment with a method table it
    /// cannot resolve to ClrMD's walk, so a damaged heap is counted, and its unreadable places reported, as ClrMD's walk alone would.
    /// </summary>
    [Fact]
    public void The_whole_heap_count_of_a_damaged_heap_equals_ClrMDs_walk_with_its_unreadable_places()
    {
        using var session = DumpSession.Open(dump.Path);
        var fast = CountWholeHeap(session, clrmdOnly: false);
        Assert.Equal(CountWholeHeap(session, clrmdOnly: true), fast);
        Assert.True(fast.BytesUnreadable > 0, "the damaged markers' segment left no unread bytes");
        Assert.Contains("did not hold a readable object", fast.Notes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dump_past_one_percent_of_unreadable_objects_is_422_with_the_counts_for_summary_suspects_and_the_automatic_report()
    {
        await using var host = await TestHost.StartAsync();
        var id = RealDump.IdFor(1);
        File.Copy(dump.Path, Path.Combine(host.DumpDirectory, id.DumpFileName));

        foreach (var route in new[] { "summary", "suspects" })
        {
            using var response = await host.Client.GetAsync($"/debug/heapdump/{id}/{route}");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{route}: {(int)response.StatusCode}: {problem}");
            Assert.Equal("DumpDamaged", problem.GetProperty("failure").GetString());
            Assert.Contains(Refusal, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("fix").GetString()));
            var damage = problem.GetProperty("damage");
            Assert.Equal(DamagedTargetDump.DamagedMarkers, damage.GetProperty("objectsSkipped").GetInt64());
            Assert.Equal(0, damage.GetProperty("referencesDropped").GetInt64());
            Assert.True(damage.GetProperty("heapBytes").GetInt64() > 0, problem.ToString());
        }

        var report = await host.Services.GetRequiredService<IAutoDumpReporter>().ReportAsync(id.ToString(), null, CancellationToken.None);
        var expected = $"The automatic dump {id} could not be analysed: the dump is damaged ({Refusal}";
        Assert.StartsWith(expected, report!.Headline, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, entry => entry.EventId.Id == LeakReportLogged && entry.Message.Contains(expected, StringComparison.Ordinal));
    }

    private static (HeapTotals Totals, long BytesUnreadable, string Notes) CountWholeHeap(DumpSession session, bool clrmdOnly)
    {
        var check = new HeapIntegrity(session.Segments, session.PointerSize).CreateWalkCheck();
        var notes = new List<string>();
        var totals = WholeHeapWalk.Count(session, check, notes, CancellationToken.None, clrmdOnly);
        return (totals, check.BytesUnreadable, string.Join("\n", notes));
    }
}
