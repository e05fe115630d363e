using System.Globalization;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Allocations;
using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// Turns "a 1.5 GB file on a server" into "Orders.OrderRegistry.pending (List&lt;Order&gt;, 5,999,000 items) retains
/// 720 MB (92 %), +360 MB since the last dump; path: static Orders.Startup.Registry → OrderRegistry.pending
/// [fingerprint 3f9a…]": after an automatic dump it has the analyzer find the leak suspects, matches them by
/// fingerprint with the previous automatic dump's, names the one that grew most (the largest on the first dump),
/// writes the report into that dump's diagnostics and one structured warning into the log.
/// </summary>
internal sealed partial class AutoDumpLeakReporter(
    HeapAnalysisService analysis, HeapDumpStore store, AutoDumpAllocationSites allocationSites, ILogger<AutoDumpLeakReporter> logger) : IAutoDumpReporter
{
    private const int ReportedSuspects = 3;
    private const int TopTypes = 5;

    // The previous automatic dump's suspects: kept here because retention may already have deleted its results.
    private (string DumpId, LeakSuspectReport Suspects)? _previous;

    public async Task<AutoDumpLeakReport?> ReportAsync(string dumpId, string? previousDumpId, CancellationToken cancellationToken)
    {
        if (!HeapDumpId.TryParse(dumpId, out var id))
        {
            return null;
        }

        AutoDumpLeakReport report;
        try
        {
            report = await BuildAsync(id, previousDumpId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            report = new AutoDumpLeakReport(dumpId, previousDumpId, $"The automatic dump {dumpId} could not be analysed.", [], [], ex.Message);
        }

        report = await allocationSites.AddAsync(id, report, cancellationToken);
        var diagnostics = ReadDiagnostics(id);
        report = OutsideHeapLeakReport.Lead(report, diagnostics);
        AttachToDiagnostics(id, diagnostics, report);
        store.PublishResult(id, DumpEvent.LeakReport, JsonSerializer.SerializeToUtf8Bytes(report, HeapDiagnosticsJsonContext.Default.AutoDumpLeakReport));
        LogLeakReport(logger, report.DumpId, report.ComparedWithDumpId ?? "none, the first automatic dump", report.Headline);
        return report;
    }

    private async Task<AutoDumpLeakReport> BuildAsync(HeapDumpId id, string? previousDumpId, CancellationToken cancellationToken)
    {
        var outcome = await analysis.SuspectsAsync(id, cancellationToken);
        if (outcome.Value is not { } suspects)
        {
            var problem = outcome.Problem!;
            return new AutoDumpLeakReport(id.ToString(), previousDumpId, $"The automatic dump {id} could not be analysed: {Why(problem)}", [], [], $"{problem.Detail} {problem.Fix}");
        }

        // The summary comes from the same run of the analyzer: a file read.
        var summary = await analysis.SummaryAsync(id, cancellationToken);
        var topTypes = summary.Value?.TopByBytes.Take(TopTypes).Select(type => new LeakReportType(type.Name, type.Count, type.Bytes)).ToList() ?? [];
        var baseline = _previous is { } known && known.DumpId == previousDumpId ? known.Suspects : null;
        _previous = (id.ToString(), suspects);

        var compared = baseline is null ? suspects : HeapDumpAnalyzer.CompareSuspects(baseline, suspects);
        var headline = Headline(suspects, compared, baseline is not null, topTypes);
        return new AutoDumpLeakReport(id.ToString(), baseline is null ? null : previousDumpId, headline, [.. compared.Suspects.Take(ReportedSuspects)], topTypes, null);
    }

    /// <summary>Why there is no report: a damaged dump says so first ("the dump is damaged (…)"), since that is what a person must act on.</summary>
    private static string Why(AnalysisProblem problem)
    {
        const string DamagedPrefix = "The dump is damaged: ";
        if (problem.Failure != AnalysisFailure.DumpDamaged)
        {
            return problem.Detail;
        }

        var reason = problem.Detail.StartsWith(DamagedPrefix, StringComparison.Ordinal) ? problem.Detail[DamagedPrefix.Length..] : problem.Detail;
        return $"the dump is damaged ({reason.TrimEnd('.')}).";
    }

    /// <summary>The suspect that grew most (or the largest), with its growth, path and fingerprint; or why there is none.</summary>
    private static string Headline(LeakSuspectReport suspects, LeakSuspectReport compared, bool hasBaseline, IReadOnlyList<LeakReportType> topTypes)
    {
        if (compared.Suspects.FirstOrDefault() is not { } top)
        {
            var largest = topTypes.FirstOrDefault();
            return string.Create(CultureInfo.InvariantCulture,
                $"No object or group of objects retains {suspects.ThresholdPercent:0.#} % or more of the {Megabytes(suspects.Live.Bytes)} MB of live objects: the memory is spread out{(largest is null ? "." : $"; the largest type is {largest.Name} ({largest.Count:N0} objects, {Megabytes(largest.Bytes)} MB).")}");
        }

        // The headline as found in this dump, without the comparison's wording, then the growth in the report's own.
        var sentence = suspects.Suspects.First(s => s.Fingerprint == top.Fingerprint).Headline;
        var growth = !hasBaseline || top.Growth is not { } change ? string.Empty
            : change.IsNew ? ", new since the last dump"
            : string.Create(CultureInfo.InvariantCulture, $", {Megabytes(change.RetainedBytesDelta):+#,0;-#,0;+0} MB since the last dump");
        // A known pattern comes with its fix, so the line alone says what to change; an application leak needs the path.
        var fix = top.Pattern is { Id: not "application-leak" } pattern ? $"; known pattern: {pattern.Name}. Fix: {pattern.Fix}" : string.Empty;
        return $"{sentence}{growth}; path: {top.RootPath.Text} [fingerprint {top.Fingerprint[..4]}\u2026]{fix}";
    }

    private MemoryDiagnostics? ReadDiagnostics(HeapDumpId id)
    {
        try
        {
            return store.TryReadDiagnostics(id) is { } content ? JsonSerializer.Deserialize(content, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            LogAttachFailed(logger, id.ToString(), ex);
            return null;
        }
    }

    private void AttachToDiagnostics(HeapDumpId id, MemoryDiagnostics? diagnostics, AutoDumpLeakReport report)
    {
        if (diagnostics is null)
        {
            return;
        }

        try
        {
            store.WriteDiagnostics(id, JsonSerializer.SerializeToUtf8Bytes(diagnostics with { LeakReport = report }, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogAttachFailed(logger, id.ToString(), ex);
        }
    }

    private static long Megabytes(long bytes) => bytes / (1024 * 1024);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Leak report for automatic dump {DumpId} (compared with {PreviousDumpId}): {Headline}")]
    private static partial void LogLeakReport(ILogger logger, string dumpId, string previousDumpId, string headline);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not add the leak report to the diagnostics of {DumpId}")]
    private static partial void LogAttachFailed(ILogger logger, string dumpId, Exception exception);
}
