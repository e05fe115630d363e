using System.CommandLine;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using HeapDiag.Analysis;

namespace HeapDiag.Cli;

/// <summary>
/// The <c>heapdiag</c> command line: <c>summary</c>, <c>diff</c> and <c>retainers</c> over <see cref="HeapDumpAnalyzer"/>.
/// Output goes to the writers passed in, so tests can run the tool in-process.
/// </summary>
internal static class HeapDiagCommand
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        RootCommand root = Build(output, error);
        ParseResult parseResult = root.Parse(args);
        return parseResult.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static RootCommand Build(TextWriter output, TextWriter error)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON (camelCase, indented) instead of tables." };

        var summaryDump = new Argument<string>("dump") { Description = "Heap dump file (ELF core dump or Windows minidump; .zst files are decompressed next to themselves first)." };
        var summaryTop = TopOption(20, "How many types and duplicate strings to list.");
        var summary = new Command("summary", "What fills the heap: live objects by type and generation, retained sizes, duplicate strings.")
        {
            summaryDump, summaryTop, json,
        };
        summary.SetAction((parseResult, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            using DumpInput dump = DumpInput.Open(parseResult.GetRequiredValue(summaryDump), cancellationToken);
            HeapSummary result = HeapDumpAnalyzer.Summarize(
                dump.Path,
                new SummaryOptions { Top = parseResult.GetValue(summaryTop) },
                cancellationToken);
            Write(output, parseResult.GetValue(json), result, CliJsonContext.Default.HeapSummary, ReportWriter.WriteSummary);
        }));

        var before = new Argument<string>("before") { Description = "The earlier heap dump." };
        var after = new Argument<string>("after") { Description = "The later heap dump." };
        var diffTop = TopOption(50, "How many types to list in each section.");
        var diff = new Command("diff", "What grew between two dumps of the same process: live objects and bytes by type (after − before).")
        {
            before, after, diffTop, json,
        };
        diff.SetAction((parseResult, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            HeapDiff result = DiffDumps(
                parseResult.GetRequiredValue(before),
                parseResult.GetRequiredValue(after),
                parseResult.GetValue(diffTop),
                cancellationToken);
            Write(output, parseResult.GetValue(json), result, CliJsonContext.Default.HeapDiff, ReportWriter.WriteDiff);
        }));

        var retainersDump = new Argument<string>("dump") { Description = "Heap dump file." };
        var typeName = new Argument<string>("type") { Description = "Full type name (MyApp.Order) or an unambiguous last part of it (Order)." };
        var retainersTop = TopOption(10, "How many distinct reference chains to list.");
        var retainers = new Command("retainers", "Why instances of a type stay alive: the shortest reference chains from GC roots (static fields by name).")
        {
            retainersDump, typeName, retainersTop, json,
        };
        retainers.SetAction((parseResult, cancellationToken) => Execute(error, cancellationToken, () =>
        {
            using DumpInput dump = DumpInput.Open(parseResult.GetRequiredValue(retainersDump), cancellationToken);
            RetentionReport result = HeapDumpAnalyzer.FindRetainers(
                dump.Path,
                parseResult.GetRequiredValue(typeName),
                new RetainerOptions { Top = parseResult.GetValue(retainersTop) },
                cancellationToken);
            Write(output, parseResult.GetValue(json), result, CliJsonContext.Default.RetentionReport, ReportWriter.WriteRetainers);
        }));

        return new RootCommand(
            "heapdiag: analyse .NET heap dumps. Counts are of live objects (reachable from GC roots). " +
            "Exit codes: 0 success, 1 usage error, 2 a dump cannot be analysed, 3 internal error.")
        {
            summary, diff, retainers,
        };
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
                && int.TryParse(result.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
                && value < 1)
            {
                result.AddError("--top must be at least 1.");
            }
        });
        return top;
    }

    /// <summary>
    /// Both summaries at once: they are independent, and on a machine with two cores the diff then takes about as long
    /// as one summary. Retained sizes are skipped because a diff does not show them.
    /// </summary>
    private static HeapDiff DiffDumps(string beforePath, string afterPath, int top, CancellationToken cancellationToken)
    {
        var options = new SummaryOptions { Top = top, MaxObjectsForRetainedSize = 0 };
        Task<HeapSummary> beforeTask = Task.Run(() => SummarizeNamed(beforePath, options, cancellationToken), cancellationToken);
        ExceptionDispatchInfo? afterFailure = null;
        HeapSummary? afterSummary = null;
        try
        {
            afterSummary = SummarizeNamed(afterPath, options, cancellationToken);
        }
        catch (Exception ex)
        {
            afterFailure = ExceptionDispatchInfo.Capture(ex);
        }

        // The earlier dump's problem, if it has one, is reported first.
        HeapSummary beforeSummary = beforeTask.GetAwaiter().GetResult();
        afterFailure?.Throw();
        return HeapDumpAnalyzer.Diff(beforeSummary, afterSummary!, top);
    }

    /// <summary>A summary whose format errors name the file, since a diff reads two.</summary>
    private static HeapSummary SummarizeNamed(string dumpPath, SummaryOptions options, CancellationToken cancellationToken)
    {
        try
        {
            using DumpInput dump = DumpInput.Open(dumpPath, cancellationToken);
            return HeapDumpAnalyzer.Summarize(dump.Path, options, cancellationToken);
        }
        catch (HeapDumpFormatException ex)
        {
            throw new HeapDumpFormatException($"{Path.GetFileName(dumpPath)}: {ex.Message}", ex);
        }
    }

    private static void Write<T>(TextWriter output, bool asJson, T report, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> jsonType, Action<TextWriter, T> writeTables)
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
    private static Task<int> Execute(TextWriter error, CancellationToken cancellationToken, Action body)
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
        catch (ArgumentException ex)
        {
            error.WriteLine($"heapdiag: {OneLine(ex.Message)}");
            return Task.FromResult(ExitCodes.UsageError);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("heapdiag: cancelled");
            return Task.FromResult(ExitCodes.Cancelled);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error.WriteLine($"heapdiag: internal error: {OneLine(ex.Message)}");
            error.WriteLine(ex.ToString());
            return Task.FromResult(ExitCodes.InternalError);
        }
    }

    /// <summary>ArgumentException appends " (Parameter 'x')" to its message; a person needs only the first part.</summary>
    private static string OneLine(string message)
    {
        int parameter = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        string text = parameter >= 0 ? message[..parameter] : message;
        int newline = text.IndexOfAny(['\r', '\n']);
        return newline >= 0 ? text[..newline] : text;
    }
}
