using System.Globalization;
using HeapDiag.Analysis.Internal;

namespace HeapDiag.Analysis;

/// <summary>
/// Comparisons of two analyses of the same process: pure and instant, so the cached results of each dump are all
/// they need. The analyses themselves come from <see cref="HeapDump"/>.
/// </summary>
public static class HeapDumpAnalyzer
{
    /// <summary>Compares two summaries (after − before) by type name.</summary>
    /// <param name="before">Summary of the earlier dump.</param>
    /// <param name="after">Summary of the later dump.</param>
    /// <param name="top">Maximum entries in each list of the result.</param>
    public static HeapDiff Diff(HeapSummary before, HeapSummary after, int top = 50)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var diff = HeapDiffer.Diff(before, after, top);
        List<string> notes =
        [
            .. new[] { (Summary: before, Which: "earlier"), (Summary: after, Which: "later") }
                .Where(side => side.Summary.Damage is not null)
                .Select(side => $"The {side.Which} dump is damaged ({side.Summary.Damage!.Describe()}): what could not be read is missing from its numbers, so part of a change may be the damage."),
        ];
        return notes.Count == 0 ? diff : diff with { Notes = notes };
    }

    /// <summary>
    /// The suspects of <paramref name="current"/> with their growth since <paramref name="baseline"/>: matched by
    /// fingerprint (the same leak has the same fingerprint in every dump), new ones flagged, the one that grew most first.
    /// </summary>
    /// <param name="baseline">Suspects of the earlier dump.</param>
    /// <param name="current">Suspects of the later dump.</param>
    public static LeakSuspectReport CompareSuspects(LeakSuspectReport baseline, LeakSuspectReport current)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(current);
        var before = baseline.Suspects
            .GroupBy(s => s.Fingerprint, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().AccumulationPoint.RetainedBytes, StringComparer.Ordinal);
        var compared = current.Suspects.Select(suspect =>
        {
            var now = suspect.AccumulationPoint.RetainedBytes;
            var growth = before.TryGetValue(suspect.Fingerprint, out var then)
                ? new SuspectGrowth(false, then, now - then)
                : new SuspectGrowth(true, null, now);
            var change = growth.IsNew
                ? "new since the baseline"
                : string.Create(CultureInfo.InvariantCulture, $"{growth.RetainedBytesDelta / (1024 * 1024):+#,0;-#,0;+0} MB since the baseline");
            return suspect with { Growth = growth, Headline = $"{suspect.Headline}, {change}" };
        });
        return current with
        {
            BaselineDumpFileName = baseline.DumpFileName,
            Suspects = [.. compared.OrderByDescending(s => s.Growth!.RetainedBytesDelta)],
        };
    }
}
