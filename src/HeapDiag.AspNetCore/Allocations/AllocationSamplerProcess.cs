using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Analyzer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Allocations;

/// <summary>
/// Runs the analyzer's <c>sample</c> command on this process: the EventPipe session belongs to the analyzer, never to
/// the app. Giving up (the caller cancels, the window plus <c>Analysis:Timeout</c> passes, the app stops) closes the
/// analyzer's standard input, on which it stops the session at once; a process that does not end within a few seconds
/// is killed, and the runtime ends a session whose reader is gone.
/// </summary>
internal sealed partial class AllocationSamplerProcess(
    AnalyzerHost host, AnalysisBudget budgets, TimeProvider timeProvider, IOptions<HeapAnalysisOptions> options, ILogger<AllocationSamplerProcess> logger) : IDisposable
{
    /// <summary>The sampler reads a stream, not a dump: it needs far less than an analysis, and never more than this.</summary>
    private const long MaxBudgetBytes = 512L << 20;

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<int, Process> _running = new();

    public async Task<SamplingOutcome> RunAsync(IReadOnlyList<string> types, int seconds, string workspace, CancellationToken cancellationToken)
    {
        if (!host.IsAvailable)
        {
            return SamplingOutcome.Failed(SamplingFailure.AnalyzerUnavailable, host.Problem!, AnalyzerHost.ProblemFix);
        }

        var budget = Math.Min(MaxBudgetBytes, budgets.Compute().Bytes);
        if (budget < HeapAnalysisOptions.MinimumBudgetBytes)
        {
            return SamplingOutcome.Failed(SamplingFailure.AnalyzerUnavailable,
                string.Create(CultureInfo.InvariantCulture, $"The analyzer would have {budget:N0} bytes of memory, less than the {HeapAnalysisOptions.MinimumBudgetBytes:N0} it needs to sample."),
                "Raise HeapDiagnostics:Analysis:MaxMemoryBytes or the container's memory limit.");
        }

        using var process = Start(types, seconds, workspace, budget);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds) + options.Value.Timeout, timeProvider);
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

            return SamplingOutcome.Failed(SamplingFailure.Timeout,
                $"Sampling did not finish within its {seconds}-second window plus HeapDiagnostics:Analysis:Timeout ({options.Value.Timeout}); the analyzer and its session were stopped.",
                "Raise HeapDiagnostics:Analysis:Timeout, or sample for a shorter window.");
        }
        finally
        {
            _running.TryRemove(process.Id, out _);
        }

        LogExited(logger, process.Id, process.ExitCode);
        return Read(workspace, process.ExitCode);
    }

    /// <summary>Stops every sampler still running: the app is stopping.</summary>
    public void Dispose()
    {
        foreach (var process in _running.Values)
        {
            CloseInput(process);
            if (!process.WaitForExit(StopGrace))
            {
                Kill(process);
            }
        }
    }

    private Process Start(IReadOnlyList<string> types, int seconds, string workspace, long budget)
    {
        string[] arguments = [AnalyzerProtocol.SampleCommand, "--pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--out", workspace,
            "--seconds", seconds.ToString(CultureInfo.InvariantCulture), .. types.SelectMany(type => new[] { "--type", type })];
        var process = host.Start(
            Path.Combine(workspace, "analyzer.runtimeconfig.json"), budget - AnalyzerHost.NativeAllowanceBytes, arguments, workspace, (processId, line) => LogOutput(logger, processId, line));
        _running[process.Id] = process;
        return process;
    }

    private static SamplingOutcome Read(string workspace, int exitCode)
    {
        try
        {
            if (exitCode == AnalyzerProtocol.ExitCodes.Success
                && JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(workspace, AnalyzerProtocol.SitesFile)), HeapDiagnosticsJsonContext.Default.AllocationSitesReport) is { } report)
            {
                return new SamplingOutcome(report);
            }

            var failurePath = Path.Combine(workspace, AnalyzerProtocol.FailureFile);
            if (File.Exists(failurePath) && JsonSerializer.Deserialize(File.ReadAllBytes(failurePath), HeapDiagnosticsJsonContext.Default.AnalyzerFailure) is { } failure)
            {
                return failure.Code switch
                {
                    AnalyzerProtocol.FailureCodes.NoDiagnosticPort => SamplingOutcome.Failed(SamplingFailure.NoDiagnosticPort,
                        $"The analyzer could not reach this process's diagnostic port: {failure.Message}.",
                        "Check that the app and the analyzer share the temp directory (TMPDIR) and that DOTNET_EnableDiagnostics is not 0."),
                    AnalyzerProtocol.FailureCodes.SessionRefused => SamplingOutcome.Failed(SamplingFailure.SessionRefused,
                        $"The runtime refused the allocation sampling session: {failure.Message}.",
                        "Retry later; if it persists, another tool may hold too many sessions on this process (dotnet-trace, dotnet-monitor)."),
                    _ => SamplingOutcome.Failed(SamplingFailure.Failed, $"Allocation sampling failed: {failure.Message}.", "Look for the analyzer's lines (event 4601) in the app's log."),
                };
            }
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return SamplingOutcome.Failed(SamplingFailure.Failed, $"The analyzer's answer could not be read: {ex.Message}", "Look for the analyzer's lines (event 4601) in the app's log.");
        }

        return SamplingOutcome.Failed(SamplingFailure.Failed,
            string.Create(CultureInfo.InvariantCulture, $"The analyzer ended with exit code {exitCode} without an answer."),
            exitCode == 137 ? "It was killed (in a container usually the out-of-memory killer): give the container more memory." : "Look for the analyzer's lines (event 4601) in the app's log.");
    }

    /// <summary>Asks the analyzer to stop its session (closing its standard input), and kills it if it does not end soon.</summary>
    private async Task StopAsync(Process process)
    {
        CloseInput(process);
        using var grace = new CancellationTokenSource(StopGrace, timeProvider);
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        LogStopped(logger, process.Id);
    }

    private static void CloseInput(Process process)
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // Already gone.
        }
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

    [LoggerMessage(EventId = 4601, Level = LogLevel.Information, Message = "Allocation sampler {ProcessId}: {Line}")]
    private static partial void LogOutput(ILogger logger, int processId, string line);

    [LoggerMessage(EventId = 4602, Level = LogLevel.Information, Message = "Allocation sampler {ProcessId} exited with code {ExitCode}")]
    private static partial void LogExited(ILogger logger, int processId, int exitCode);

    [LoggerMessage(EventId = 4603, Level = LogLevel.Information, Message = "Allocation sampler {ProcessId} stopped: its caller gave up, it ran out of time, or the app is stopping")]
    private static partial void LogStopped(ILogger logger, int processId);
}
