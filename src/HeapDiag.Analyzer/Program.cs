using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using HeapDiag.Analysis;
using HeapDiag.Analysis.Internal;
using static HeapDiag.Analyzer.AnalyzerProtocol;

namespace HeapDiag.Analyzer;

/// <summary>
/// The analyzer process. <c>analyze --dump PATH --out DIR --max-memory BYTES [--threshold PERCENT]</c> writes the
/// summary and the leak suspects; <c>retainers --dump PATH --out DIR --max-memory BYTES --type NAME</c> the retention
/// paths of a type; <c>runtime</c> (same options) the runtime facts. Progress goes to standard error; results and failures to files in DIR (see
/// <see cref="AnalyzerProtocol"/>). It ends by itself when its standard input closes: the app that started it is gone.
/// <c>digest --follow PATH [--zstd OUT]</c> hashes (and compresses) a dump while it is written (<see cref="DigestFollower"/>).
/// <c>sample --pid PID …</c> samples the app's allocations of given types over EventPipe (<see cref="AllocationSampler"/>).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args is [AnalyzerProtocol.DigestCommand, "--follow", string path, .. var rest] && rest is [] or ["--zstd", _])
        {
            return DigestFollower.Run(path, rest is [_, var packedPath] ? packedPath : null);
        }

        if (args is [AnalyzerProtocol.SampleCommand, ..])
        {
            return SampleArguments.TryParse(args, out var sample, out var usage) ? AllocationSampler.Run(sample) : Usage(usage);
        }

        if (!AnalyzerArguments.TryParse(args, out var arguments, out var problem))
        {
            Console.Error.WriteLine($"heapdiag-analyzer: {problem}");
            return ExitCodes.Usage;
        }

        ExitWhenParentIsGone();
        ReportOutOfMemory(arguments);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            using var dump = HeapDump.Open(arguments.DumpPath, new HeapDumpOptions
            {
                MemoryBudgetBytes = arguments.MaxMemoryBytes,
                ScratchDirectory = arguments.OutputDirectory,
                PageCacheBytes = PageCacheFor(arguments.MaxMemoryBytes),
            });
            Progress($"opened {dump.FileName} ({dump.FileBytes:N0} bytes), memory budget {arguments.MaxMemoryBytes:N0} bytes");
            TestSignalHook.RaiseIfAsked(arguments.DumpPath);
            return arguments.Command switch
            {
                RetainersCommand => Retainers(dump, arguments),
                RuntimeCommand => Runtime(dump, arguments),
                _ => Analyze(dump, arguments, stopwatch),
            };
        }
        catch (HeapDumpFormatException ex)
        {
            return Fail(arguments, ExitCodes.Unreadable, new AnalyzerFailure(FailureCodes.Unreadable, ex.Message));
        }
        catch (HeapDumpDamagedException ex)
        {
            return Fail(arguments, ExitCodes.DumpDamaged, new AnalyzerFailure(FailureCodes.DumpDamaged, ex.Message, Damage: ex.Damage));
        }
        catch (HeapAnalysisScratchSpaceException ex)
        {
            return Fail(arguments, ExitCodes.ScratchSpace, new AnalyzerFailure(FailureCodes.ScratchSpace, ex.Message, ex.NeededBytes));
        }
        catch (Exception ex) when (DumpReaderFault.IsFrom(ex))
        {
            Console.Error.WriteLine(ex);
            return Fail(arguments, ExitCodes.DumpDamaged, new AnalyzerFailure(FailureCodes.DumpDamaged, DumpReaderFault.Describe(ex)));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine(ex);
            return Fail(arguments, ExitCodes.Internal, new AnalyzerFailure(FailureCodes.Internal, ex.Message));
        }
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"heapdiag-analyzer: {problem}");
        return ExitCodes.Usage;
    }

    private static int Analyze(HeapDump dump, AnalyzerArguments arguments, Stopwatch stopwatch)
    {
        var summary = dump.Summarize();
        Write(arguments, SummaryFile, summary, AnalyzerJsonContext.Default.HeapSummary);
        Progress($"summary: {summary.Live.Objects:N0} live objects, {summary.Live.Bytes:N0} bytes ({stopwatch.Elapsed.TotalSeconds:0.0} s)");
        try
        {
            var suspects = dump.FindLeakSuspects(new SuspectOptions { ThresholdPercent = arguments.ThresholdPercent });
            Write(arguments, SuspectsFile, suspects, AnalyzerJsonContext.Default.LeakSuspectReport);
            Progress($"suspects: {suspects.Suspects.Count} ({stopwatch.Elapsed.TotalSeconds:0.0} s, peak working set {Environment.WorkingSet:N0} bytes now)");
            return ExitCodes.Success;
        }
        catch (HeapAnalysisBudgetException ex)
        {
            return Fail(arguments, ExitCodes.Budget, new AnalyzerFailure(FailureCodes.Budget, ex.Message, ex.NeededBytes, ex.BudgetBytes));
        }
    }

    private static int Retainers(HeapDump dump, AnalyzerArguments arguments)
    {
        try
        {
            var report = dump.FindRetainers(arguments.TypeName!);
            Write(arguments, RetainersFile, report, AnalyzerJsonContext.Default.RetentionReport);
            return ExitCodes.Success;
        }
        catch (HeapTypeNotFoundException ex)
        {
            var code = ex.IsAmbiguous ? FailureCodes.TypeAmbiguous : FailureCodes.TypeNotFound;
            return Fail(arguments, ExitCodes.TypeNotFound, new AnalyzerFailure(code, ex.Message, Candidates: ex.Candidates));
        }
    }

    private static int Runtime(HeapDump dump, AnalyzerArguments arguments)
    {
        var report = dump.InspectRuntime();
        Write(arguments, RuntimeFile, report, AnalyzerJsonContext.Default.RuntimeReport);
        Progress($"runtime: {report.Handles.Sum(h => h.Count):N0} handles, {report.Threads.Count} threads, {report.Modules.Dynamic} dynamic modules ({report.ElapsedMilliseconds / 1000.0:0.0} s)");
        return ExitCodes.Success;
    }

    /// <summary>A cache of dump pages in proportion to the budget: 8 MiB is plenty for a small heap, 32 MiB for a large one.</summary>
    private static int PageCacheFor(long budget) => (int)Math.Clamp(budget / 16, 8L << 20, 32L << 20);

    /// <summary>
    /// The app keeps the write end of this process's standard input open and never writes to it; the read returns
    /// only when the app is gone (or closed it), and then nothing is left to report to.
    /// </summary>
    private static void ExitWhenParentIsGone()
    {
        var watcher = new Thread(() =>
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[64];
            while (input.Read(buffer) > 0)
            {
            }

            Console.Error.WriteLine("heapdiag-analyzer: standard input closed, the app is gone; stopping");
            Environment.Exit(ExitCodes.ParentGone);
        })
        {
            IsBackground = true,
            Name = "parent watcher",
        };
        watcher.Start();
    }

    /// <summary>
    /// Out of memory within the budget ends the process with SIGABRT, the same status a crash in the runtime's data access
    /// library leaves; the failure file, written from bytes made now, tells the app it was the budget. Nothing else is
    /// allocated in the handler but the file.
    /// </summary>
    private static void ReportOutOfMemory(AnalyzerArguments arguments)
    {
        var failure = JsonSerializer.SerializeToUtf8Bytes(
            new AnalyzerFailure(FailureCodes.Budget, string.Create(CultureInfo.InvariantCulture, $"the analysis ran out of memory within its budget of {arguments.MaxMemoryBytes:N0} bytes"), BudgetBytes: arguments.MaxMemoryBytes),
            AnalyzerJsonContext.Default.AnalyzerFailure);
        var path = Path.Combine(arguments.OutputDirectory, FailureFile);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if (e.ExceptionObject is OutOfMemoryException)
            {
                File.WriteAllBytes(path, failure);
            }
        };
    }

    private static int Fail(AnalyzerArguments arguments, int exitCode, AnalyzerFailure failure)
    {
        Progress($"failed ({failure.Code}): {failure.Message}");
        Write(arguments, FailureFile, failure, AnalyzerJsonContext.Default.AnalyzerFailure);
        return exitCode;
    }

    private static void Write<T>(AnalyzerArguments arguments, string fileName, T value, JsonTypeInfo<T> type)
    {
        using var file = File.Create(Path.Combine(arguments.OutputDirectory, fileName));
        JsonSerializer.Serialize(file, value, type);
    }

    private static void Progress(string message) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heapdiag-analyzer: {message}"));
}

/// <summary>The analyzer's results as camelCase JSON, as the app reads them.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HeapSummary))]
[JsonSerializable(typeof(LeakSuspectReport))]
[JsonSerializable(typeof(RetentionReport))]
[JsonSerializable(typeof(RuntimeReport))]
[JsonSerializable(typeof(AnalyzerFailure))]
[JsonSerializable(typeof(HeapDiag.Analysis.Allocations.AllocationSitesReport))]
internal sealed partial class AnalyzerJsonContext : JsonSerializerContext;
