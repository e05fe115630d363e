using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text.Json;
using HeapDiag.Analysis.Allocations;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Parsers;
using static HeapDiag.Analyzer.AnalyzerProtocol;

namespace HeapDiag.Analyzer;

/// <summary>
/// <c>sample</c>: samples the allocations of the app (its process id) over an EventPipe session on its diagnostic
/// port, for a window, and writes where the asked-for types were allocated (<see cref="AllocationSitesReport"/>). The
/// session belongs to this process, never to the app (a process tracing itself over EventPipe can deadlock). The
/// trace is read as it streams, never written to disk; the method names come from the rundown the runtime sends when
/// the session stops. When standard input closes (the app gave up, timed out or is stopping) the session is stopped
/// at once and nothing is written.
/// </summary>
internal static class AllocationSampler
{
    /// <summary>The runtime's event buffer for the session, in the app: the app's cost of sampling.</summary>
    public const int BufferMegabytes = 16;

    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    public static int Run(SampleArguments arguments)
    {
        var stop = new CancellationTokenSource();
        var parentGone = WatchParent(stop);
        EventPipeSession session;
        try
        {
            session = new DiagnosticsClient(arguments.ProcessId).StartEventPipeSession(Providers(), requestRundown: true, circularBufferMB: BufferMegabytes);
        }
        catch (ServerNotAvailableException ex)
        {
            return Fail(arguments, FailureCodes.NoDiagnosticPort, $"the diagnostic port of process {arguments.ProcessId} cannot be reached: {ex.Message}");
        }
        catch (Exception ex) when (ex is ServerErrorException or UnsupportedCommandException)
        {
            return Fail(arguments, FailureCodes.SessionRefused, $"the runtime refused the EventPipe session: {ex.Message}");
        }

        using (session)
        {
            Progress($"sampling allocations of {string.Join(", ", arguments.Types)} in process {arguments.ProcessId} for {arguments.Seconds} s ({BufferMegabytes} MB event buffer)");
            var reading = Task.Run(() => AllocationTrace.Read(session.EventStream, arguments.Types, arguments.Seconds));
            stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(arguments.Seconds));
            var stopped = Stopwatch.StartNew();
            StopSession(session);
            if (parentGone.IsCompleted)
            {
                Progress("standard input closed: the session is stopped, nothing is written");
                return ExitCodes.ParentGone;
            }

            return Finish(arguments, reading, stopped);
        }
    }

    private static int Finish(SampleArguments arguments, Task<AllocationSitesReport> reading, Stopwatch stopped)
    {
        AllocationSitesReport report;
        try
        {
            report = reading.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine(ex);
            return Fail(arguments, FailureCodes.Internal, $"the trace could not be read: {ex.Message}");
        }

        report = report with { Cost = new SamplingCost(stopped.ElapsedMilliseconds, PeakResidentBytes(), BufferMegabytes) };
        using (var file = File.Create(Path.Combine(arguments.OutputDirectory, SitesFile)))
        {
            JsonSerializer.Serialize(file, report, AnalyzerJsonContext.Default.AllocationSitesReport);
        }

        Progress($"sites: {report.TotalSamples:N0} samples ({report.EventName}), {report.EventsLost:N0} events lost, {stopped.ElapsedMilliseconds:N0} ms after the window, peak {report.Cost.PeakMemoryBytes:N0} bytes");
        return ExitCodes.Success;
    }

    /// <summary>
    /// The runtime provider: the GC keyword at verbose level (allocation ticks, GC events), .NET 10's allocation
    /// sampling, and the JIT's method events so that methods compiled during the window are named too.
    /// </summary>
    private static EventPipeProvider[] Providers() =>
    [
        new(RuntimeProvider, EventLevel.Verbose,
            (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.AllocationSampling | ClrTraceEventParser.Keywords.Jit)),
    ];

    private static void StopSession(EventPipeSession session)
    {
        try
        {
            session.Stop();
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException)
        {
            // The app is gone or already ended the session: nothing is left to stop.
            Progress($"stopping the session: {ex.Message}");
        }
    }

    /// <summary>Standard input closes when the app gives up (or is gone): that ends the window at once.</summary>
    private static Task WatchParent(CancellationTokenSource stop) => Task.Factory.StartNew(
        () =>
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[64];
            while (input.Read(buffer) > 0)
            {
            }

            stop.Cancel();
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    private static long? PeakResidentBytes()
    {
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) : null;
        return line is not null && long.TryParse(line["VmHWM:".Length..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture, out var kb)
            ? kb * 1024
            : null;
    }

    private static int Fail(SampleArguments arguments, string code, string message)
    {
        Progress($"failed ({code}): {message}");
        using var file = File.Create(Path.Combine(arguments.OutputDirectory, FailureFile));
        JsonSerializer.Serialize(file, new AnalyzerFailure(code, message), AnalyzerJsonContext.Default.AnalyzerFailure);
        return code == FailureCodes.Internal ? ExitCodes.Internal : ExitCodes.SamplingRefused;
    }

    private static void Progress(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heapdiag-analyzer: {message}"));
}
