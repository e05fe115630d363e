using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDiag.AspNetCore.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HeapDiag.AspNetCore.Tests.Damage;

/// <summary>
/// The fuzz suite: one real dump of this process, damaged 44 ways with fixed seeds, each analysed over HTTP by the
/// analyzer process. Every variant ends in a report (carrying <c>damage</c> when anything was left out) or a 422, never
/// a 500, a hang past the timeout, a crash of the app, or a total larger than the heap's committed ranges. Two hosts
/// work through the variants side by side (each host runs one analysis at a time), so at most two analyzers run.
/// </summary>
/// <remarks>
/// A timeout is not an allowed answer: <c>Analysis:Timeout</c> is set to 2 minutes so that an analyzer that loops on a
/// damaged dump fails the suite instead of holding it for the default 10. (Two such loops were found and bounded: a GC
/// descriptor whose offset a damaged word turned negative, and ClrMD reading the fields of types whose field lists no
/// longer end.) Whether a variant passes the 1 % refusal depends on the heap this process happens to hold when it dumps
/// itself, so the refusal is proven by <see cref="DamagedDumpRefusalTests"/> on a dump damaged the same way every time;
/// crashes and digests are answered 422 DumpDamaged in <see cref="DamagedDumpAnswerTests"/>.
/// </remarks>
[Collection(CaptureCollection.Name)]
public sealed class DamagedDumpFuzzTests(RealDump dump, ITestOutputHelper output) : IClassFixture<RealDump>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["HeapDiagnostics:Analysis:Timeout"] = "00:02:00" };

    [Fact]
    public async Task Every_damaged_variant_ends_in_a_report_or_a_422_never_a_500_a_hang_or_an_impossible_total()
    {
        var variants = Damages.All();
        Assert.True(variants.Count >= 40, $"{variants.Count} variants");
        await using var first = await TestHost.StartAsync(Settings);
        await using var second = await TestHost.StartAsync(Settings);

        // The undamaged dump: a full report, and no damage found where there is none.
        var baseline = await AnalyseAsync(first, 0, null);
        Assert.True(baseline.Summary == HttpStatusCode.OK, baseline.ToString());
        Assert.Null(baseline.Damage);

        var outcomes = new ConcurrentQueue<Outcome>();
        await Task.WhenAll(
            RunAsync(first, variants.Where((_, i) => i % 2 == 0), 1, outcomes),
            RunAsync(second, variants.Where((_, i) => i % 2 == 1), 2, outcomes));

        output.WriteLine($"baseline: {baseline}");
        foreach (var outcome in outcomes.OrderBy(o => o.Variant))
        {
            output.WriteLine(outcome.ToString());
        }

        var wrong = outcomes.Select(o => (o, Problem(o))).Where(p => p.Item2 is not null).Select(p => $"{p.o}: {p.Item2}").ToList();
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
        Assert.Equal(variants.Count, outcomes.Count);
        Assert.Contains(outcomes, o => o.Summary == HttpStatusCode.OK && o.Damage is not null);
    }

    /// <summary>What is wrong with an outcome, or null when it is one of the two answers allowed.</summary>
    private string? Problem(Outcome outcome) => outcome switch
    {
        { Summary: not (HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity) } => "the summary was neither a report nor a 422",
        { Suspects: not (HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity) } => "the suspects were neither a report nor a 422",
        { Summary: HttpStatusCode.UnprocessableEntity, Failure: not ("DumpDamaged" or "Unreadable") } => "a 422 without failure DumpDamaged or Unreadable",
        { LiveBytes: > 0 } when outcome.LiveBytes > dump.CommittedBytes => $"live bytes above the heap's {dump.CommittedBytes:N0} committed bytes",
        { InHeapBytes: > 0 } when outcome.InHeapBytes > dump.CommittedBytes => $"in-heap bytes above the heap's {dump.CommittedBytes:N0} committed bytes",
        { SuspectsLiveBytes: > 0 } when outcome.SuspectsLiveBytes > dump.CommittedBytes => "suspects' live bytes above the committed bytes",
        { Damage: not null, DamageNoted: false } => "a damage block without a note",
        _ => null,
    };

    private async Task RunAsync(TestHost host, IEnumerable<Damages> variants, int firstIndex, ConcurrentQueue<Outcome> outcomes)
    {
        var index = firstIndex;
        foreach (var variant in variants)
        {
            outcomes.Enqueue(await AnalyseAsync(host, index += 2, variant));
        }
    }

    /// <summary>Places a (damaged) copy of the dump in the host's store, asks for its summary and suspects, then deletes it.</summary>
    private async Task<Outcome> AnalyseAsync(TestHost host, int index, Damages? damage)
    {
        var id = RealDump.IdFor(index);
        var path = Path.Combine(host.DumpDirectory, id.DumpFileName);
        File.Copy(dump.Path, path);
        if (damage is not null)
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            damage.Apply(file, dump, new Random(damage.Seed));
        }

        var stopwatch = Stopwatch.StartNew();
        try
        {
            using var summary = await host.Client.GetAsync($"/debug/heapdump/{id}/summary");
            using var suspects = await host.Client.GetAsync($"/debug/heapdump/{id}/suspects");
            var body = await summary.Content.ReadFromJsonAsync<JsonElement>();
            var suspectsBody = await suspects.Content.ReadFromJsonAsync<JsonElement>();
            var ok = summary.StatusCode == HttpStatusCode.OK;
            var damageBlock = ok && body.TryGetProperty("damage", out var d) && d.ValueKind == JsonValueKind.Object ? d.ToString() : null;
            return new Outcome(
                damage?.ToString() ?? "undamaged",
                summary.StatusCode,
                suspects.StatusCode,
                ok ? null : body.TryGetProperty("failure", out var f) ? f.GetString() : null,
                ok ? null : body.TryGetProperty("detail", out var detail) ? detail.GetString() : null,
                ok ? body.GetProperty("live").GetProperty("bytes").GetInt64() : 0,
                ok ? body.GetProperty("inHeap").GetProperty("bytes").GetInt64() : 0,
                suspects.StatusCode == HttpStatusCode.OK ? suspectsBody.GetProperty("live").GetProperty("bytes").GetInt64() : 0,
                damageBlock,
                ok && body.GetProperty("notes").EnumerateArray().Any(n => n.GetString()!.Contains("damaged", StringComparison.Ordinal)),
                stopwatch.Elapsed);
        }
        finally
        {
            using var deleted = await host.Client.DeleteAsync($"/debug/heapdump/{id}");
        }
    }

    private sealed record Outcome(
        string Variant, HttpStatusCode Summary, HttpStatusCode Suspects, string? Failure, string? Detail, long LiveBytes, long InHeapBytes, long SuspectsLiveBytes,
        string? Damage, bool DamageNoted, TimeSpan Took)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Variant}: {(int)Summary}/{(int)Suspects} {Failure} live {LiveBytes:N0} in-heap {InHeapBytes:N0} damage {Damage ?? "none"} {Detail} ({Took.TotalSeconds:0.0} s)");
    }
}
