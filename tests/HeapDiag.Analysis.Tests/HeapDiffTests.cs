namespace HeapDiag.Analysis.Tests;

public sealed class HeapDiffTests
{
    private static HeapSummary Summary(string file, params TypeStats[] types) => new(
        file,
        1,
        "10.0.0",
        8,
        CountingModes.Live,
        new HeapTotals(types.Sum(t => t.Count), types.Sum(t => t.Bytes)),
        new HeapTotals(types.Sum(t => t.Count), types.Sum(t => t.Bytes)),
        [.. types.OrderByDescending(t => t.Bytes)],
        [],
        [],
        [],
        null,
        new DuplicateStringStats(0, 0, []),
        [],
        0);

    [Fact]
    public void Orders_by_bytes_growth_and_separates_new_and_vanished_types()
    {
        var before = Summary("a.dmp", new("Grows", 10, 100), new("Shrinks", 5, 500), new("Same", 1, 8), new("Gone", 2, 64));
        var after = Summary("b.dmp", new("Grows", 30, 300), new("Shrinks", 1, 100), new("Same", 1, 8), new("Born", 4, 1000));

        var diff = HeapDumpAnalyzer.Diff(before, after);

        Assert.Equal(["Born", "Grows", "Gone", "Shrinks"], diff.Types.Select(t => t.Name));
        Assert.Equal(new TypeDelta("Grows", 10, 30, 20, 100, 300, 200), diff.Types[1]);
        Assert.Equal(new TypeDelta("Born", 0, 4, 4, 0, 1000, 1000), Assert.Single(diff.NewTypes));
        Assert.Equal(new TypeDelta("Gone", 2, 0, -2, 64, 0, -64), Assert.Single(diff.VanishedTypes));
        Assert.Equal(4, diff.ChangedTypeCount);
        Assert.Equal(after.Live.Objects - before.Live.Objects, diff.ObjectsDelta);
        Assert.Equal(after.Live.Bytes - before.Live.Bytes, diff.BytesDelta);
        Assert.Equal("a.dmp", diff.BeforeDumpFileName);
    }

    [Fact]
    public void Top_cuts_every_list_but_not_the_changed_count()
    {
        TypeStats[] many = [.. Enumerable.Range(1, 10).Select(i => new TypeStats($"T{i}", i, i * 8))];
        var before = Summary("a.dmp");
        var after = Summary("b.dmp", many);

        var diff = HeapDumpAnalyzer.Diff(before, after, top: 3);

        Assert.Equal(["T10", "T9", "T8"], diff.Types.Select(t => t.Name));
        Assert.Equal(3, diff.NewTypes.Count);
        Assert.Equal(10, diff.ChangedTypeCount);
    }
}
