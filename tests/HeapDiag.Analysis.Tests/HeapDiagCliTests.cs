using System.Text.Json;
using HeapDiag.Cli;

namespace HeapDiag.Analysis.Tests;

/// <summary>The <c>heapdiag</c> tool, run in-process with captured output, against the same dumps as the library tests.</summary>
[Collection(TargetDumpsCollection.Name)]
public sealed class HeapDiagCliTests(TargetDumps dumps)
{
    [Fact]
    public void Summary_json_reports_the_live_marker_count()
    {
        var run = CliRun.Of("summary", dumps.BeforePath, "--json");

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.Equal("live", root.GetProperty("counting").GetString());
        var markers = root.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == TargetDumps.MarkerType);
        Assert.Equal(TargetDumps.InitialMarkers, markers.GetProperty("count").GetInt64());
        Assert.Equal(dumps.Before.Live.Objects, root.GetProperty("live").GetProperty("objects").GetInt64());
        Assert.Equal(20, root.GetProperty("topByBytes").GetArrayLength());
    }

    [Fact]
    public void Summary_table_shows_the_marker_count_next_to_the_type()
    {
        var run = CliRun.Of("summary", dumps.BeforePath, "--top", "1000");

        Assert.Equal(0, run.ExitCode);
        // Listed in the top-by-bytes, top-by-count and retained-size tables, each row starting with the count.
        Assert.Equal(3, run.OutputLines.Count(l => l.EndsWith($"  {TargetDumps.MarkerType}", StringComparison.Ordinal) && l.StartsWith("1,000 ", StringComparison.Ordinal)));
        Assert.Contains("Live (reachable from GC roots)", run.Output, StringComparison.Ordinal);
        Assert.Contains("\"heapdiag-duplicate-value\"", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Diff_json_and_table_show_the_added_markers()
    {
        var json = CliRun.Of("diff", dumps.BeforePath, dumps.AfterPath, "--json");
        var table = CliRun.Of("diff", dumps.BeforePath, dumps.AfterPath);

        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Output);
        var markers = document.RootElement.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == TargetDumps.MarkerType);
        Assert.Equal(TargetDumps.AddedMarkers, markers.GetProperty("countDelta").GetInt64());
        Assert.Equal(TargetDumps.InitialMarkers + TargetDumps.AddedMarkers, markers.GetProperty("countAfter").GetInt64());

        Assert.Equal(0, table.ExitCode);
        Assert.Contains(table.OutputLines, l => l.EndsWith($"  {TargetDumps.MarkerType}", StringComparison.Ordinal) && l.Contains(" +250 ", StringComparison.Ordinal) && l.Contains("1,250", StringComparison.Ordinal));
    }

    [Fact]
    public void Retainers_name_the_static_field()
    {
        var table = CliRun.Of("retainers", dumps.BeforePath, "LeakMarker");
        var json = CliRun.Of("retainers", dumps.BeforePath, "LeakMarker", "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains($"root: static field {TargetDumps.MarkersField}", table.Output, StringComparison.Ordinal);
        Assert.Contains("1,000 live instances", table.Output, StringComparison.Ordinal);

        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Output);
        var path = document.RootElement.GetProperty("paths")[0];
        Assert.Equal("static field", path.GetProperty("rootKind").GetString());
        Assert.Equal(TargetDumps.MarkersField, path.GetProperty("root").GetString());
        Assert.Equal(TargetDumps.InitialMarkers, document.RootElement.GetProperty("instanceCount").GetInt64());
    }

    [Theory]
    [InlineData("summary")]
    [InlineData("retainers")]
    [InlineData("diff-before")]
    [InlineData("diff-after")]
    public void A_truncated_dump_exits_2_with_one_line_on_stderr(string command)
    {
        var truncated = dumps.TruncatedCopy(1 << 20);
        string[] args = command switch
        {
            "summary" => ["summary", truncated],
            "retainers" => ["retainers", truncated, "LeakMarker"],
            "diff-before" => ["diff", truncated, dumps.AfterPath],
            _ => ["diff", dumps.BeforePath, truncated],
        };

        var run = CliRun.Of(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Output);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("heapdiag: ", line, StringComparison.Ordinal);
        Assert.Contains("truncated: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_file_exits_2()
    {
        var run = CliRun.Of("summary", dumps.TextFile("hello"));

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("heapdiag: not a dump:", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_exits_2()
    {
        var run = CliRun.Of("summary", Path.Combine(dumps.Directory, "nope.dmp"), "--json");

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("heapdiag: file not found: ", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Theory]
    [InlineData("summary")]
    [InlineData("frobnicate", "x.dmp")]
    [InlineData("summary", "x.dmp", "--top", "0")]
    [InlineData("summary", "x.dmp", "--top", "many")]
    [InlineData("diff", "only-one.dmp")]
    public void Usage_errors_exit_1(params string[] args)
    {
        Assert.Equal(1, CliRun.Of(args).ExitCode);
    }

    [Fact]
    public void An_ambiguous_type_name_exits_1_and_lists_the_candidates()
    {
        var run = CliRun.Of("retainers", dumps.BeforePath, "Entry");

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("heapdiag: type name 'Entry' is ambiguous", line, StringComparison.Ordinal);
        Assert.Contains("AlphaCache+Entry", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zstd_dump_is_analysed_like_the_dump_and_its_decompressed_copy_is_deleted_afterwards()
    {
        var compressed = Compress(dumps.BeforePath, out var directory);

        var summary = CliRun.Of("summary", compressed, "--json");
        var diff = CliRun.Of("diff", compressed, dumps.AfterPath, "--json");
        var retainers = CliRun.Of("retainers", compressed, "LeakMarker", "--json");

        Assert.Equal((0, 0, 0), (summary.ExitCode, diff.ExitCode, retainers.ExitCode));
        using (var json = JsonDocument.Parse(summary.Output))
        {
            Assert.Equal(dumps.Before.Live.Objects, json.RootElement.GetProperty("live").GetProperty("objects").GetInt64());
        }

        using (var json = JsonDocument.Parse(diff.Output))
        {
            Assert.Equal(TargetDumps.AddedMarkers, json.RootElement.GetProperty("types").EnumerateArray().Single(t => t.GetProperty("name").GetString() == TargetDumps.MarkerType).GetProperty("countDelta").GetInt64());
        }

        Assert.Equal([Path.GetFileName(compressed)], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_truncated_zstd_dump_exits_2_and_leaves_no_decompressed_copy()
    {
        var compressed = Compress(dumps.BeforePath, out var directory);
        var bytes = File.ReadAllBytes(compressed);
        File.WriteAllBytes(compressed, bytes[..(bytes.Length / 2)]);

        var run = CliRun.Of("summary", compressed);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"heapdiag: not a complete zstd file: {Path.GetFileName(compressed)}", Assert.Single(run.ErrorLines), StringComparison.Ordinal);
        Assert.Equal([Path.GetFileName(compressed)], Directory.GetFiles(directory).Select(Path.GetFileName));
    }

    /// <summary>A zstd copy of the dump, alone in a new directory under the dumps' one.</summary>
    private string Compress(string dumpPath, out string directory)
    {
        directory = Directory.CreateDirectory(Path.Combine(dumps.Directory, $"zst-{Guid.NewGuid():N}")).FullName;
        var path = Path.Combine(directory, Path.GetFileName(dumpPath) + ".zst");
        using var source = File.OpenRead(dumpPath);
        using var target = new ZstdSharp.CompressionStream(File.Create(path), 3, leaveOpen: false);
        source.CopyTo(target);
        return path;
    }
}

/// <summary>One in-process run of the tool.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public IReadOnlyList<string> OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static CliRun Of(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = HeapDiagCommand.Run(args, output, error);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }
}
