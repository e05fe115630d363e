using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>One thing for the analyzer to do: a command on a dump, and for retainers the type.</summary>
internal sealed record AnalyzerJob(string Command, string DumpPath, long DumpBytes, string? TypeName = null);

/// <summary>How a run of the analyzer ended.</summary>
/// <param name="Started">False when it was refused before starting (no host, budget too small).</param>
/// <param name="ExitCode">The process's exit code; null when it was not started or was killed.</param>
/// <param name="Failure">What it (or the refusal) said went wrong; null on success.</param>
/// <param name="TimedOut">Stopped after <c>Analysis:Timeout</c>.</param>
/// <param name="Budget">The memory budget it ran (or would have run) with.</param>
internal sealed record AnalyzerRun(bool Started, int? ExitCode, AnalyzerFailure? Failure, bool TimedOut, MemoryBudget? Budget)
{
    public bool Succeeded => Started && ExitCode == AnalyzerProtocol.ExitCodes.Success;
}

/// <summary>
/// Runs the analyzer in a child process, never on the app's heap: started through the app's own runtime host with
/// the memory budget as its GC hard limit, its standard error copied to the app's log, killed (with anything it
/// started) when the caller gives up, the timeout passes or the app stops. The results it writes stay in the
/// workspace for the caller to commit.
/// </summary>
internal sealed partial class AnalyzerProcess(
    AnalyzerHost host, AnalysisBudget budgets, TimeProvider timeProvider, IOptions<HeapAnalysisOptions> options, ILogger<AnalyzerProcess> logger) : IDisposable
{
    /// <summary>Exit statuses of a process killed by a fault signal (128 + the signal's number, as .NET reports them on Unix).</summary>
    private static readonly Dictionary<int, string> CrashSignals = new() { [128 + 6] = "SIGABRT", [128 + 7] = "SIGBUS", [128 + 11] = "SIGSEGV" };

    private readonly ConcurrentDictionary<int, Process> _running = new();

    public AnalyzerHost Host => host;

    public async Task<AnalyzerRun> RunAsync(AnalyzerJob job, AnalysisWorkspace workspace, CancellationToken cancellationToken)
    {
        if (!Host.IsAvailable)
        {
            return new AnalyzerRun(false, null, new AnalyzerFailure("NoHost", $"{Host.Problem} {AnalyzerHost.ProblemFix}"), false, null);
        }

        var budget = budgets.Compute();
        var minimum = AnalysisMemory.MinimumBytes(job.DumpBytes);
        if (budget.Bytes < minimum)
        {
            return new AnalyzerRun(false, null, new AnalyzerFailure(AnalyzerProtocol.FailureCodes.Budget,
                Format($"the analysis of a {job.DumpBytes:N0}-byte dump needs at least {minimum:N0} bytes of memory, more than the budget of {budget.Explanation}"),
                minimum, budget.Bytes), false, budget);
        }

        using var process = Start(job, workspace, budget);
        LogStarted(logger, job.Command, Path.GetFileName(job.DumpPath), process.Id, budget.Explanation);
        using var timeout = new CancellationTokenSource(options.Value.Timeout, timeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            await StopAsync(process);
            if (!timeout.IsCancellationRequested)
            {
                throw;
            }

            LogTimedOut(logger, process.Id, options.Value.Timeout);
            return new AnalyzerRun(true, null, null, true, budget);
        }
        finally
        {
            _running.TryRemove(process.Id, out _);
        }

        LogExited(logger, process.Id, process.ExitCode);
        return new AnalyzerRun(true, process.ExitCode, ReadFailure(workspace, process.ExitCode), false, budget);
    }

    /// <summary>Whether the analyzer can run here, and with what budget now: for <c>GET /heapdump/capabilities</c>.</summary>
    public AnalysisCapability Describe()
    {
        var analysis = options.Value;
        var budget = budgets.Compute();
        (var canAnalyze, var problem, var fix) = analysis.Mode == AnalysisMode.Off
            ? (false, "HeapDiagnostics:Analysis:Mode is Off.", "Set it to ChildProcess, or analyse the dumps elsewhere with 'heapdiag suspects FILE'.")
            : host.IsAvailable ? (true, null, null) : (false, host.Problem, AnalyzerHost.ProblemFix);
        return new AnalysisCapability(analysis.Mode.ToString(), canAnalyze, problem, fix, host.DotnetPath, budget.Bytes, budget.Explanation, analysis.Timeout.TotalSeconds);
    }

    /// <summary>Kills every analyzer still running: the app is stopping.</summary>
    public void Dispose()
    {
        foreach (var process in _running.Values)
        {
            Kill(process);
        }
    }

    private Process Start(AnalyzerJob job, AnalysisWorkspace workspace, MemoryBudget budget)
    {
        var process = Host.Start(
            workspace.File("analyzer.runtimeconfig.json"), Math.Max(AnalyzerHost.NativeAllowanceBytes, budget.Bytes - AnalyzerHost.NativeAllowanceBytes), Arguments(job, workspace, budget), workspace.DirectoryPath,
            (processId, line) => LogOutput(logger, processId, line));
        _running[process.Id] = process;
        return process;
    }

    private IEnumerable<string> Arguments(AnalyzerJob job, AnalysisWorkspace workspace, MemoryBudget budget)
    {
        yield return job.Command;
        yield return "--dump";
        yield return job.DumpPath;
        yield return "--out";
        yield return workspace.DirectoryPath;
        yield return "--max-memory";
        yield return budget.Bytes.ToString(CultureInfo.InvariantCulture);
        yield return "--threshold";
        yield return options.Value.SuspectThresholdPercent.ToString(CultureInfo.InvariantCulture);
        if (job.TypeName is { } type)
        {
            yield return "--type";
            yield return type;
        }
    }

    private static AnalyzerFailure? ReadFailure(AnalysisWorkspace workspace, int exitCode)
    {
        if (exitCode == AnalyzerProtocol.ExitCodes.Success)
        {
            return null;
        }

        var file = workspace.File(AnalyzerProtocol.FailureFile);
        try
        {
            if (File.Exists(file) && JsonSerializer.Deserialize(File.ReadAllBytes(file), HeapDiagnosticsJsonContext.Default.AnalyzerFailure) is { } failure)
            {
                return failure;
            }
        }
        catch (JsonException)
        {
        }

        // Death by a fault signal: the analyzer's own code is managed, so the crash was in the runtime's data access
        // library, native code reading the dump's structures (an out-of-memory abort wrote its failure file above).
        if (CrashSignals.TryGetValue(exitCode, out var signal))
        {
            return new AnalyzerFailure(AnalyzerProtocol.FailureCodes.DumpDamaged, Format(
                $"the runtime's data access library crashed reading this dump ({signal}, exit code {exitCode}); it is damaged, or from a runtime build it does not support"), Signal: signal);
        }

        // No word from it: killed by the kernel (out of memory) or a crash the runtime could not report.
        return new AnalyzerFailure(AnalyzerProtocol.FailureCodes.Internal, exitCode switch
        {
            137 => "the analyzer was killed (SIGKILL; in a container this is usually the out-of-memory killer): lower HeapDiagnostics:Analysis:MaxMemoryBytes or give the container more memory",
            _ => Format($"the analyzer ended with exit code {exitCode} without saying why; its standard error is in the app's log"),
        });
    }

    private async Task StopAsync(Process process)
    {
        Kill(process);
        await process.WaitForExitAsync(CancellationToken.None);
        LogStopped(logger, process.Id);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Analyzer started: {Command} of {DumpFile} in process {ProcessId}, memory budget {Budget}")]
    private static partial void LogStarted(ILogger logger, string command, string dumpFile, int processId, string budget);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Analyzer {ProcessId}: {Line}")]
    private static partial void LogOutput(ILogger logger, int processId, string line);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "Analyzer {ProcessId} exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, int processId, int exitCode);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "Analyzer {ProcessId} stopped after HeapDiagnostics:Analysis:Timeout ({Timeout})")]
    private static partial void LogTimedOut(ILogger logger, int processId, TimeSpan timeout);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Information, Message = "Analyzer {ProcessId} killed: its caller gave up or the app is stopping")]
    private static partial void LogStopped(ILogger logger, int processId);
}
