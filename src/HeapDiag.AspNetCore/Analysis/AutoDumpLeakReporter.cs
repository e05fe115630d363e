using System.Globalization;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Analysis;

/// <summary>Turns an automatic dump into a leak report. Called by the monitor after each automatic dump.</summary>
internal interface IAutoDumpReporter
{
    /// <summary>Analyses the dump (and the diff against the previous automatic dump, when there is one). Never throws.</summary>
    Task<AutoDumpLeakReport?> ReportAsync(string dumpId, string? previousDumpId, CancellationToken cancellationToken);
}

/// <summary>
/// Turns "a 1.5 GB file on a server" into "Order: +600,000 objects, +410 MB since the last dump, held by
/// OrderCache._items": after an automatic dump it computes the summary, from the second automatic dump on the diff
/// against the previous one and the retention path of the type that grew most, then writes the result into that
/// dump's diagnostics and one structured warning into the log.
/// </summary>
internal sealed partial class AutoDumpLeakReporter(HeapAnalysisService analysis, HeapDumpStore store, ILogger<AutoDumpLeakReporter> logger) : IAutoDumpReporter
{
    private const int TopTypes = 5;

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
            report = new AutoDumpLeakReport(dumpId, previousDumpId, $"The automatic dump {dumpId} could not be analysed.", [], [], null, ex.Message);
        }

        AttachToDiagnostics(id, report);
        LogLeakReport(logger, report.DumpId, report.ComparedWithDumpId, report.Headline);
        return report;
    }

    private async Task<AutoDumpLeakReport> BuildAsync(HeapDumpId id, string? previousDumpId, CancellationToken cancellationToken)
    {
        var summary = await analysis.SummaryAsync(id, cancellationToken);
        if (summary.Value is null)
        {
            return new AutoDumpLeakReport(id.ToString(), previousDumpId, $"The automatic dump {id} could not be analysed.", [], [], null, summary.Error);
        }

        var topTypes = summary.Value.TopByBytes.Take(TopTypes).Select(type => new LeakReportType(type.Name, type.Count, type.Bytes, null, null)).ToList();
        if (previousDumpId is null || !HeapDumpId.TryParse(previousDumpId, out var previous) || store.Find(previous) is null)
        {
            var largest = topTypes.FirstOrDefault();
            var headline = largest is null
                ? "The heap holds no live objects."
                : $"Largest type: {largest.Name}: {largest.Count:N0} objects, {Megabytes(largest.Bytes)} MB (first automatic dump; the next one will say what grew).";
            return new AutoDumpLeakReport(id.ToString(), null, headline, topTypes, [], null, null);
        }

        var diff = await analysis.DiffAsync(id, previous, TopTypes, cancellationToken);
        if (diff.Value is null)
        {
            return new AutoDumpLeakReport(id.ToString(), previousDumpId, $"The automatic dump {id} could not be compared with {previousDumpId}.", topTypes, [], null, diff.Error);
        }

        var growth = diff.Value.Types.Where(type => type.BytesDelta > 0).Take(TopTypes)
            .Select(type => new LeakReportType(type.Name, type.CountAfter, type.BytesAfter, type.CountDelta, type.BytesDelta)).ToList();
        if (growth.Count == 0)
        {
            return new AutoDumpLeakReport(id.ToString(), previousDumpId, $"No type grew since {previousDumpId}.", topTypes, [], null, null);
        }

        var grown = growth[0];
        var heldBy = await HeldByAsync(id, grown.Name, cancellationToken);
        var sentence = string.Create(CultureInfo.InvariantCulture, $"{grown.Name}: {grown.CountDelta:+#,0;-#,0;0} objects, {Megabytes(grown.BytesDelta ?? 0):+0;-0;0} MB since the last dump");
        return new AutoDumpLeakReport(id.ToString(), previousDumpId, heldBy is null ? sentence : $"{sentence}, held by {heldBy}", topTypes, growth, heldBy, null);
    }

    private async Task<string?> HeldByAsync(HeapDumpId id, string typeName, CancellationToken cancellationToken)
    {
        var retainers = await analysis.RetainersAsync(id, typeName, cancellationToken);
        if (retainers.Value?.Paths.FirstOrDefault() is not { } path)
        {
            return null;
        }

        // The field of the application's own object nearest the instances says more than the root:
        // "OrderCache._items" rather than a stack or a handle. A step names the field of the object before it
        // through which it was reached; collections' insides (System.*) and array slots are passed over.
        for (var i = path.Steps.Count - 1; i >= 1; i--)
        {
            var field = path.Steps[i].FieldName;
            var owner = path.Steps[i - 1].TypeName;
            if (field is null or "[]" || owner.StartsWith("System.", StringComparison.Ordinal))
            {
                continue;
            }

            return $"{owner}.{PropertyName(field)} (root: {path.RootKind} {path.Root})";
        }

        return $"{path.RootKind} {path.Root}";
    }

    // Auto-property backing fields read as their property: "<Payload>k__BackingField" is "Payload".
    private static string PropertyName(string field) =>
        field.StartsWith('<') && field.IndexOf(">k__BackingField", StringComparison.Ordinal) is > 1 and var end ? field[1..end] : field;

    private void AttachToDiagnostics(HeapDumpId id, AutoDumpLeakReport report)
    {
        var path = store.DiagnosticsPath(id);
        try
        {
            if (!File.Exists(path))
            {
                return;
            }

            var diagnostics = JsonSerializer.Deserialize(File.ReadAllBytes(path), HeapDiagnosticsJsonContext.Default.MemoryDiagnostics);
            if (diagnostics is not null)
            {
                store.WriteDiagnostics(id, JsonSerializer.SerializeToUtf8Bytes(diagnostics with { LeakReport = report }, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            LogAttachFailed(logger, id.ToString(), ex);
        }
    }

    private static long Megabytes(long bytes) => bytes / (1024 * 1024);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Leak report for automatic dump {DumpId} (compared with {PreviousDumpId}): {Headline}")]
    private static partial void LogLeakReport(ILogger logger, string dumpId, string? previousDumpId, string headline);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not add the leak report to the diagnostics of {DumpId}")]
    private static partial void LogAttachFailed(ILogger logger, string dumpId, Exception exception);
}
