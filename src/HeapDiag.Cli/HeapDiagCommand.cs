using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using HeapDiag.Analysis;
using HeapDiag.Analysis.Internal;

namespace HeapDiag.Cli;

/// <summary>
/// The <c>heapdiag</c> command line: <c>summary</c>, <c>suspects</c>, <c>diff</c>, <c>retainers</c> and <c>runtime</c> over
/// <see cref="HeapDump"/>, <c>sites</c> over a trace, <c>fleet</c> over a bucket. Output goes to the writers passed in, so tests can run the tool in-process.
/// </summary>
internal static class HeapDiagCommand
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON (camelCase, indented) instead of tables." };
        var maxMemory = new Option<string?>("--max-memory")
        {
            Description = "Most memory the analysis may use, in bytes or with a K, M or G suffix (1024-based); it stops with exit code 4 rather than go past it. Default: no limit.",
        };
        maxMemory.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && !MemorySize.TryParse(result.Tokens[0].Value, out _))
            {
                result.AddError($"--max-memory '{result.Tokens[0].Value}' is not a size such as 600M or 1G.");
            }
        });

        var root = new RootCommand(
            "heapdiag: analyse .NET heap dumps. Counts are of live objects (reachable from GC roots). " +
            "Exit codes: 0 success, 1 usage error, 2 a dump cannot be analysed (missing, truncated, corrupt or damaged), 3 internal error, 4 not enough memory allowed.")
        {
            Summary(output, error, json, maxMemory),
            Suspects(output, error, json, maxMemory),
            Diff(output, error, json),
            Retainers(output, error, json),
            Runtime(output, error, json),
            Sites(output, error, json),
            FleetCommand.Create(output, error, json),
        };
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static Command Summary(TextWriter output, TextWriter error, Option<bool> json, Option<string?> maxMemory)
    {
        var dump = new Argument<string>("dump") { Description = "Heap dump file (ELF core dump or Windows minidump; a .zst file is decompressed next to itself first)." };
        var top = TopOption(20, "How many types and duplicate strings to list.");
        var noRetained = new Option<bool>("--no-retained") { Description = "Skip the retained sizes (the dominator tree): about half the time and 16 bytes per object less memory." };
        var command = new Command("summary", "What fills the heap: live objects by type and generation, retained sizes, duplicate strings.")
        {
            dump, top, noRetained, json, maxMemory,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            using var input = DumpInput.Open(parse.GetRequiredValue(dump), cancellationToken);
            using var heap = Open(input.Path, parse.GetValue(maxMemory));
            var result = heap.Summarize(new SummaryOptions { Top = parse.GetValue(top), RetainedSizes = !parse.GetValue(noRetained) }, cancellationToken);
            Write(output, parse.GetValue(json), result, CliJsonContext.Default.HeapSummary, ReportWriter.WriteSummary);
        }));
        return command;
    }

    private static Command Suspects(TextWriter output, TextWriter error, Option<bool> json, Option<string?> maxMemory)
    {
        var dump = new Argument<string>("dump") { Description = "Heap dump file (or .zst), or an object in a bucket: s3://bucket/key, azblob://account/container/key." };
        var endpoint = new Option<string?>("--endpoint") { Description = "With s3:// or azblob://: an S3-compatible server (http://minio:9000) or Azurite's blob endpoint instead of the cloud's." };
        var baseline = new Option<string?>("--baseline") { Description = "An earlier dump of the same process (or app): suspects are matched by fingerprint and their growth shown." };
        var threshold = new Option<double>("--threshold")
        {
            Description = "A suspect retains at least this percent of the live bytes. Default 10.",
            DefaultValueFactory = _ => 10,
        };
        threshold.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is <= 0 or > 100)
            {
                result.AddError("--threshold must be more than 0 and at most 100.");
            }
        });
        var command = new Command("suspects", "Where the memory accumulates: leak suspects from the dominator tree, their accumulation points and root paths.")
        {
            dump, baseline, threshold, json, maxMemory, endpoint,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            var options = new SuspectOptions { ThresholdPercent = parse.GetValue(threshold) };
            var budget = parse.GetValue(maxMemory);
            var location = parse.GetRequiredValue(dump);
            using var downloaded = BucketDump.IsBucket(location) ? BucketDump.Download(location, parse.GetValue(endpoint), cancellationToken) : null;
            var report = FindSuspects(downloaded?.Path ?? location, budget, options, cancellationToken);
            if (parse.GetValue(baseline) is { } earlier)
            {
                // One dump at a time: two dominator trees in memory at once would double the peak.
                report = HeapDumpAnalyzer.CompareSuspects(FindSuspects(earlier, budget, options, cancellationToken), report);
            }

            Write(output, parse.GetValue(json), report, CliJsonContext.Default.LeakSuspectReport, ReportWriter.WriteSuspects);
        }));
        return command;
    }

    private static Command Diff(TextWriter output, TextWriter error, Option<bool> json)
    {
        var before = new Argument<string>("before") { Description = "The earlier heap dump (or .zst)." };
        var after = new Argument<string>("after") { Description = "The later heap dump (or .zst)." };
        var top = TopOption(50, "How many types to list in each section.");
        var command = new Command("diff", "What grew between two dumps of the same process: live objects and bytes by type (after − before).")
        {
            before, after, top, json,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            // Retained sizes are skipped (a diff does not show them), so both summaries fit in memory side by side.
            var options = new SummaryOptions { Top = parse.GetValue(top), RetainedSizes = false };
            var diff = DiffDumps(parse.GetRequiredValue(before), parse.GetRequiredValue(after), options, cancellationToken);
            Write(output, parse.GetValue(json), diff, CliJsonContext.Default.HeapDiff, ReportWriter.WriteDiff);
        }));
        return command;
    }

    private static Command Retainers(TextWriter output, TextWriter error, Option<bool> json)
    {
        var dump = new Argument<string>("dump") { Description = "Heap dump file (or .zst)." };
        var typeName = new Argument<string>("type") { Description = "Full type name (MyApp.Order) or an unambiguous last part of it (Order)." };
        var top = TopOption(10, "How many distinct reference chains to list.");
        var command = new Command("retainers", "Why instances of a type stay alive: the shortest reference chains from GC roots (static fields by name).")
        {
            dump, typeName, top, json,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            using var input = DumpInput.Open(parse.GetRequiredValue(dump), cancellationToken);
            using var heap = Open(input.Path, budget: null);
            var result = heap.FindRetainers(parse.GetRequiredValue(typeName), new RetainerOptions { Top = parse.GetValue(top) }, cancellationToken);
            Write(output, parse.GetValue(json), result, CliJsonContext.Default.RetentionReport, ReportWriter.WriteRetainers);
        }));
        return command;
    }

    private static Command Runtime(TextWriter output, TextWriter error, Option<bool> json)
    {
        var dump = new Argument<string>("dump") { Description = "Heap dump file (or .zst)." };
        var command = new Command("runtime", "What the runtime held beside the objects: GC handles by kind, the finalizer queue, threads, modules and dynamic assemblies, free space per generation and the pinned objects after it.")
        {
            dump, json,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            using var input = DumpInput.Open(parse.GetRequiredValue(dump), cancellationToken);
            using var heap = Open(input.Path, budget: null);
            Write(output, parse.GetValue(json), heap.InspectRuntime(cancellationToken), CliJsonContext.Default.RuntimeReport, ReportWriter.WriteRuntime);
        }));
        return command;
    }

    private static Command Sites(TextWriter output, TextWriter error, Option<bool> json)
    {
        var trace = new Argument<string>("nettrace") { Description = "An EventPipe trace with allocation events and their stacks, such as 'dotnet-trace collect --profile gc-verbose' writes." };
        var types = new Option<string[]>("--type") { Description = "Type whose allocations to show: a full name or its last part. Repeat for more.", Required = true };
        var command = new Command("sites", "Which code allocates a type: its top call stacks by sampled bytes, from a trace recorded elsewhere.")
        {
            trace, types, json,
        };
        command.SetAction((parse, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            var path = parse.GetRequiredValue(trace);
            if (!File.Exists(path))
            {
                throw new HeapDumpFormatException($"{path}: no such file");
            }

            var report = SitesInput.Read(path, parse.GetRequiredValue(types));
            Write(output, parse.GetValue(json), report, CliJsonContext.Default.AllocationSitesReport, SitesWriter.Write);
        }));
        return command;
    }

    /// <summary>Opens a dump with its scratch files beside it (dumps live where there is room), else in the temp directory.</summary>
    private static HeapDump Open(string dumpPath, string? budget)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(dumpPath));
        var writable = directory is not null && Directory.Exists(directory) && IsWritable(directory);
        var heap = HeapDump.Open(dumpPath, new HeapDumpOptions
        {
            MemoryBudgetBytes = budget is null ? null : MemorySize.Parse(budget),
            ScratchDirectory = writable ? directory : null,
        });
        if (WorkerProcess.IsWorker)
        {
            TestSignalHook.RaiseIfAsked(dumpPath);
        }

        return heap;
    }

    private static LeakSuspectReport FindSuspects(string dumpPath, string? budget, SuspectOptions options, CancellationToken cancellationToken)
    {
        try
        {
            using var input = DumpInput.Open(dumpPath, cancellationToken);
            using var heap = Open(input.Path, budget);
            return heap.FindLeakSuspects(options, cancellationToken);
        }
        catch (HeapDumpFormatException ex)
        {
            throw new HeapDumpFormatException($"{Path.GetFileName(dumpPath)}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Both summaries at once: they are independent, and on a machine with two cores the diff then takes about as long
    /// as one summary. The earlier dump's problem, if it has one, is reported first.
    /// </summary>
    private static HeapDiff DiffDumps(string beforePath, string afterPath, SummaryOptions options, CancellationToken cancellationToken)
    {
        var earlier = Task.Run(() => SummarizeNamed(beforePath, options, cancellationToken), cancellationToken);
        HeapSummary? later = null;
        Exception? laterFailure = null;
        try
        {
            later = SummarizeNamed(afterPath, options, cancellationToken);
        }
        catch (Exception ex)
        {
            laterFailure = ex;
        }

        var first = earlier.GetAwaiter().GetResult();
        if (laterFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(laterFailure);
        }

        return HeapDumpAnalyzer.Diff(first, later!, options.Top);
    }

    /// <summary>A summary whose format errors name the file, since a diff reads two.</summary>
    private static HeapSummary SummarizeNamed(string dumpPath, SummaryOptions options, CancellationToken cancellationToken)
    {
        try
        {
            using var input = DumpInput.Open(dumpPath, cancellationToken);
            using var heap = Open(input.Path, budget: null);
            return heap.Summarize(options, cancellationToken);
        }
        catch (HeapDumpFormatException ex)
        {
            throw new HeapDumpFormatException($"{Path.GetFileName(dumpPath)}: {ex.Message}", ex);
        }
    }

    private static bool IsWritable(string directory)
    {
        try
        {
            var probe = Path.Combine(directory, $".heapdiag-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static Option<int> TopOption(int defaultValue, string description)
    {
        var top = new Option<int>("--top")
        {
            Description = $"{description} Default {defaultValue}.",
            DefaultValueFactory = _ => defaultValue,
        };
        top.Validators.Add(result =>
        {
            // A value that is not a number at all is reported by the parser; only check the range of numbers here.
            if (result.Tokens.Count == 1
                && int.TryParse(result.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                && value < 1)
            {
                result.AddError("--top must be at least 1.");
            }
        });
        return top;
    }

    internal static void Write<T>(TextWriter output, bool asJson, T report, JsonTypeInfo<T> jsonType, Action<TextWriter, T> writeTables)
    {
        if (asJson)
        {
            output.WriteLine(JsonSerializer.Serialize(report, jsonType));
        }
        else
        {
            writeTables(output, report);
        }
    }

    /// <summary>Runs a command body and turns failures into one line on standard error and an exit code.</summary>
    internal static Task<int> Execute(TextWriter error, CancellationToken cancellationToken, Action body)
    {
        try
        {
            body();
            return Task.FromResult(ExitCodes.Success);
        }
        catch (HeapDumpFormatException ex)
        {
            error.WriteLine($"heapdiag: {ex.Message}");
            return Task.FromResult(ExitCodes.UnusableDump);
        }
        catch (HeapDumpDamagedException ex)
        {
            error.WriteLine($"heapdiag: the dump is damaged: {ex.Message}. Take a new dump, or check the copy against the SHA-256 recorded at capture.");
            return Task.FromResult(ExitCodes.UnusableDump);
        }
        catch (HeapAnalysisBudgetException ex)
        {
            error.WriteLine($"heapdiag: {ex.Message}; allow more with --max-memory, or run it on a machine with more memory.");
            return Task.FromResult(ExitCodes.NotEnoughMemory);
        }
        catch (HeapTypeNotFoundException ex)
        {
            error.WriteLine($"heapdiag: {ex.Message}");
            return Task.FromResult(ExitCodes.UsageError);
        }
        catch (HeapAnalysisScratchSpaceException ex)
        {
            error.WriteLine($"heapdiag: {ex.Message}; free space there, or copy the dump to a directory with room (scratch files go next to the dump, else to the temp directory): {HeapAnalysisScratchSpaceException.SizeRule}.");
            return Task.FromResult(ExitCodes.NotEnoughDisk);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("heapdiag: cancelled");
            return Task.FromResult(ExitCodes.Cancelled);
        }
        catch (Exception ex) when (DumpReaderFault.IsFrom(ex))
        {
            error.WriteLine($"heapdiag: the dump is damaged: {DumpReaderFault.Describe(ex)}. Take a new dump, or check the copy against the SHA-256 recorded at capture.");
            return Task.FromResult(ExitCodes.UnusableDump);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error.WriteLine($"heapdiag: internal error: {OneLine(ex.Message)}");
            error.WriteLine(ex.ToString());
            return Task.FromResult(ExitCodes.InternalError);
        }
    }

    private static string OneLine(string message)
    {
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline >= 0 ? message[..newline] : message;
    }
}
