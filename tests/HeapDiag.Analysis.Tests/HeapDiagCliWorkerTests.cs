using System.Diagnostics;
using System.Text.Json;
using HeapDiag.Analysis.Internal;
using HeapDiag.Cli;

namespace HeapDiag.Analysis.Tests;

/// <summary>
/// The <c>heapdiag</c> program as a shell runs it: the command runs in a worker process, so a crash of the runtime's data
/// access library on a damaged dump is reported as a damaged dump (exit code 2, the signal named), not the shell's
/// "Segmentation fault"; otherwise the worker's output and exit code pass through unchanged.
/// </summary>
[Collection(TargetDumpsCollection.Name)]
public sealed class HeapDiagCliWorkerTests(TargetDumps dumps)
{
    [Fact]
    public async Task The_worker_s_report_and_exit_code_pass_through()
    {
        var run = await RunAsync(null, "summary", dumps.BeforePath, "--json", "--no-retained");

        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal(dumps.Before.Live.Objects, json.RootElement.GetProperty("live").GetProperty("objects").GetInt64());
        Assert.Equal(1, (await RunAsync(null, "summary")).ExitCode);
    }

    [Theory]
    [InlineData("SIGSEGV")]
    [InlineData("SIGABRT")]
    public async Task A_worker_killed_by_a_signal_is_reported_as_a_damaged_dump_with_exit_code_2(string signal)
    {
        var run = await RunAsync($"{signal}:{Path.GetFileName(dumps.BeforePath)}", "suspects", dumps.BeforePath);

        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.Contains($"heapdiag: the dump is damaged: the runtime's data access library crashed reading it ({signal})", run.Error, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>dotnet heapdiag.dll ARGS</c>, with the test-only crash hook set for this child only when <paramref name="crash"/> is given.</summary>
    private static async Task<CliRun> RunAsync(string? crash, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet");
        start.ArgumentList.Add(typeof(HeapDiagCommand).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove(WorkerProcess.WorkerVariable);
        if (crash is not null)
        {
            start.Environment[TestSignalHook.Variable] = crash;
        }

        var (exitCode, output, error) = await ChildProcess.RunAsync(start);
        return new CliRun(exitCode, output, error);
    }
}
