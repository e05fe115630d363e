using System.Text.Json;

namespace HeapDiag.Analysis.Tests;

/// <summary><c>heapdiag suspects</c>, in-process, on the leak dumps.</summary>
[Collection(LeakDumpsCollection.Name)]
public sealed class HeapDiagCliSuspectsTests(LeakDumps dumps)
{
    [Fact]
    public void Suspects_table_names_the_list_its_path_and_fingerprint()
    {
        var run = CliRun.Of("suspects", dumps.FirstPath);

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Error);
        Assert.Contains(run.OutputLines, l => l.Contains($"{LeakDumps.Namespace}.OrderCache._orders (List<Order>, 20,000 items) retains", StringComparison.Ordinal));
        Assert.Contains($"path:         static {LeakDumps.Namespace}.Leaks.Orders \u2192 OrderCache._orders", run.Output, StringComparison.Ordinal);
        Assert.Equal(5, run.OutputLines.Count(l => l.StartsWith("fingerprint:", StringComparison.Ordinal)));
    }

    [Fact]
    public void Suspects_table_and_json_carry_each_suspects_pattern_and_its_fix()
    {
        var run = CliRun.Of("suspects", dumps.FirstPath);

        Assert.Equal(5, run.OutputLines.Count(l => l.StartsWith("pattern:", StringComparison.Ordinal)));
        Assert.Contains("pattern:      undisposed Timer", run.OutputLines);
        Assert.Contains("pattern:      application leak", run.OutputLines);
        Assert.Contains(run.OutputLines, l => l.StartsWith("fix:          Dispose every Timer", StringComparison.Ordinal)
            && l.EndsWith("(https://learn.microsoft.com/dotnet/api/system.threading.timer#remarks)", StringComparison.Ordinal));

        var json = CliRun.Of("suspects", dumps.FirstPath, "--json");
        using var document = JsonDocument.Parse(json.Output);
        string?[] ids = [.. document.RootElement.GetProperty("suspects").EnumerateArray().Select(s => s.GetProperty("pattern").GetProperty("id").GetString())];
        Assert.Equal(["application-leak", "singleton-event-handlers", "static-collection-grows", "static-collection-grows", "undisposed-timer"], ids.Order());
    }

    [Fact]
    public void Suspects_json_with_a_baseline_shows_the_growth()
    {
        var run = CliRun.Of("suspects", dumps.SecondPath, "--baseline", dumps.FirstPath, "--json");

        Assert.Equal(0, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal("first.dmp", json.RootElement.GetProperty("baselineDumpFileName").GetString());
        JsonElement[] suspects = [.. json.RootElement.GetProperty("suspects").EnumerateArray()];
        Assert.Equal(5, suspects.Length);
        Assert.All(suspects, s => Assert.False(s.GetProperty("growth").GetProperty("isNew").GetBoolean()));
        Assert.Contains(suspects, s => s.GetProperty("accumulationPoint").GetProperty("displayName").GetString() == $"{LeakDumps.Namespace}.OrderCache._orders"
            && s.GetProperty("growth").GetProperty("retainedBytesDelta").GetInt64() > LeakDumps.MoreItems * 1024L);
    }

    [Fact]
    public void Too_little_memory_allowed_exits_4_saying_how_much_is_needed()
    {
        var run = CliRun.Of("suspects", dumps.FirstPath, "--max-memory", "1M");

        Assert.Equal(4, run.ExitCode);
        Assert.Empty(run.Output);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("needs about", line, StringComparison.Ordinal);
        Assert.Contains("more than the budget of 1.0 MiB", line, StringComparison.Ordinal);
        Assert.Contains("--max-memory", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("suspects", "x.dmp", "--threshold", "0")]
    [InlineData("suspects", "x.dmp", "--threshold", "101")]
    [InlineData("suspects", "x.dmp", "--max-memory", "lots")]
    public void Bad_suspects_options_exit_1(params string[] args)
    {
        Assert.Equal(1, CliRun.Of(args).ExitCode);
    }
}
