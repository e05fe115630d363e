using System.Text.Json;

namespace HeapDiag.Analysis.Tests;

/// <summary><c>heapdiag runtime FILE</c> on the target's dump: the same few lines as <c>GET /heapdump/{id}/runtime</c>.</summary>
[Collection(TargetDumpsCollection.Name)]
public sealed class HeapDiagCliRuntimeTests(TargetDumps dumps)
{
    [Fact]
    public void Runtime_lists_handles_threads_modules_and_generations()
    {
        var table = CliRun.Of("runtime", dumps.BeforePath);
        var json = CliRun.Of("runtime", dumps.BeforePath, "--json");

        Assert.Equal(0, table.ExitCode);
        Assert.Contains(table.OutputLines, line => line.StartsWith("GC handles: ", StringComparison.Ordinal) && line.Contains("Strong ", StringComparison.Ordinal));
        Assert.Contains(table.OutputLines, line => line.StartsWith("Threads: ", StringComparison.Ordinal));
        Assert.Contains(table.OutputLines, line => line.StartsWith("Modules: ", StringComparison.Ordinal));
        Assert.Contains(table.OutputLines, line => line.StartsWith("gen", StringComparison.Ordinal) && line.Contains(", free ", StringComparison.Ordinal));

        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Output);
        var root = document.RootElement;
        Assert.True(root.GetProperty("threads").GetProperty("alive").GetInt32() >= 1);
        Assert.True(root.GetProperty("modules").GetProperty("count").GetInt32() >= 2);
        Assert.Contains(root.GetProperty("handles").EnumerateArray(), kind => kind.GetProperty("kind").GetString() == "Strong" && kind.GetProperty("count").GetInt64() > 0);
    }
}
