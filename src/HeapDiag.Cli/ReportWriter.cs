using System.Globalization;
using HeapDiag.Analysis;

namespace HeapDiag.Cli;

/// <summary>The human-readable form of each report: aligned tables, bytes in binary units, counts exact.</summary>
internal static class ReportWriter
{
    private static readonly string[] ByteUnits = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static void WriteSummary(TextWriter output, HeapSummary summary)
    {
        output.WriteLine($"{summary.DumpFileName} ({Bytes(summary.DumpFileBytes)}), .NET {summary.ClrVersion}, {summary.PointerSize * 8}-bit, analysed in {Seconds(summary.AnalysisDurationMs)}");
        output.WriteLine();
        var totals = new TextTable(("", false), ("Objects", true), ("Bytes", true));
        totals.AddRow("Live (reachable from GC roots)", Count(summary.Live.Objects), Bytes(summary.Live.Bytes));
        totals.AddRow("Whole heap (incl. not yet collected)", Count(summary.InHeap.Objects), Bytes(summary.InHeap.Bytes));
        totals.WriteTo(output);

        output.WriteLine();
        output.WriteLine("Live objects by generation");
        var generations = new TextTable(("Generation", false), ("Objects", true), ("Bytes", true));
        foreach (var generation in summary.Generations)
        {
            generations.AddRow(generation.Generation, Count(generation.Objects), Bytes(generation.Bytes));
        }

        generations.WriteTo(output);

        WriteTypes(output, $"Top {summary.TopByBytes.Count} types by live bytes", summary.TopByBytes);
        WriteTypes(output, $"Top {summary.TopByCount.Count} types by live objects", summary.TopByCount);

        if (summary.RetainedBytes is { } retained)
        {
            output.WriteLine();
            output.WriteLine("Retained size (what would be freed without the type's instances)");
            var table = new TextTable(("Objects", true), ("Shallow", true), ("Retained", true), ("Type", false));
            foreach (var type in retained)
            {
                table.AddRow(Count(type.Count), Bytes(type.ShallowBytes), Bytes(type.RetainedBytes), type.Name);
            }

            table.WriteTo(output);
        }

        var duplicates = summary.DuplicateStrings;
        output.WriteLine();
        output.WriteLine($"Duplicate strings: {Count(duplicates.DuplicatedValues)} values occur more than once, wasting {Bytes(duplicates.WastedBytes)}");
        if (duplicates.Top.Count > 0)
        {
            var table = new TextTable(("Copies", true), ("Each", true), ("Wasted", true), ("Value", false));
            foreach (var value in duplicates.Top)
            {
                table.AddRow(Count(value.Count), Bytes(value.BytesEach), Bytes(value.WastedBytes), Quote(value.Value));
            }

            table.WriteTo(output);
        }

        WriteNotes(output, summary.Notes);
    }

    public static void WriteDiff(TextWriter output, HeapDiff diff)
    {
        output.WriteLine($"{diff.BeforeDumpFileName} -> {diff.AfterDumpFileName} ({diff.Counting} objects, after - before)");
        output.WriteLine();
        var totals = new TextTable(("", false), ("Before", true), ("After", true), ("Change", true));
        totals.AddRow("Objects", Count(diff.Before.Objects), Count(diff.After.Objects), SignedCount(diff.ObjectsDelta));
        totals.AddRow("Bytes", Bytes(diff.Before.Bytes), Bytes(diff.After.Bytes), SignedBytes(diff.BytesDelta));
        totals.WriteTo(output);

        WriteDeltas(output, $"Largest growth by bytes ({diff.Types.Count} of {Count(diff.ChangedTypeCount)} changed types)", diff.Types);
        WriteDeltas(output, "New types (only in the later dump)", diff.NewTypes);
        WriteDeltas(output, "Vanished types (only in the earlier dump)", diff.VanishedTypes);
    }

    public static void WriteRetainers(TextWriter output, RetentionReport report)
    {
        output.WriteLine($"{report.TypeName} in {report.DumpFileName}: {Count(report.InstanceCount)} live instances, {Count(report.SampledCount)} traced, analysed in {Seconds(report.AnalysisDurationMs)}");
        var number = 0;
        foreach (var path in report.Paths)
        {
            output.WriteLine();
            output.WriteLine($"#{++number}  holds {Count(path.Count)} of {Count(report.SampledCount)} traced instances");
            output.WriteLine($"  root: {path.RootKind} {path.Root}");
            foreach (var step in path.Steps)
            {
                output.WriteLine(step.FieldName is null ? $"    -> {step.TypeName}" : $"    -> .{step.FieldName}: {step.TypeName}");
            }
        }

        WriteNotes(output, report.Notes);
    }

    public static void WriteRuntime(TextWriter output, RuntimeReport report)
    {
        output.WriteLine($"Runtime of {report.DumpFileName} (.NET {report.ClrVersion}), read in {Seconds(report.ElapsedMilliseconds)}");
        output.WriteLine($"GC handles: {string.Join(", ", report.Handles.Select(h => $"{h.Kind} {Count(h.Count)}"))}");
        foreach (var kind in report.Handles.Where(h => h.Kind is "Pinned" or "AsyncPinned" or "Strong" or "Dependent"))
        {
            output.WriteLine($"  {kind.Kind}: {string.Join(", ", kind.TopTypes.Select(t => $"{t.Name} {Count(t.Count)}"))}");
        }

        var finalizer = report.Finalizer;
        output.WriteLine($"Finalizer queue: {Count(finalizer.Ready)} ready for finalization{Types(finalizer.ReadyByType)}, {Count(finalizer.Registered)} registered");
        output.WriteLine($"Threads: {Count(report.Threads.Count)} ({Count(report.Threads.Alive)} alive); {string.Join(", ", report.Threads.States.Select(s => $"{s.Name} {Count(s.Count)}"))}");
        var generators = report.Modules.TopDynamicGenerators.Select(g => $"{g.Name} {Count(g.Count)}");
        output.WriteLine($"Modules: {Count(report.Modules.Count)}, dynamic {Count(report.Modules.Dynamic)}{(report.Modules.Dynamic > 0 ? $" ({string.Join(", ", generators)})" : string.Empty)}");
        foreach (var generation in report.Fragmentation)
        {
            var causes = generation.PinnedCauses.Select(c => $"{c.Type} {Count(c.Objects)} before {Bytes(c.FreeBytesBefore)} free");
            output.WriteLine($"  {generation.Generation,-6} {Bytes(generation.Bytes),12}, free {Bytes(generation.FreeBytes),12}{(generation.PinnedObjects > 0 ? $"; pinned after free space: {string.Join(", ", causes)}" : string.Empty)}");
        }

        WriteNotes(output, report.Notes);
    }

    private static string Types(IReadOnlyList<TypeStats> types) =>
        types.Count == 0 ? string.Empty : $" ({string.Join(", ", types.Select(t => $"{t.Name} {Count(t.Count)}"))})";

    public static void WriteSuspects(TextWriter output, LeakSuspectReport report)
    {
        var baseline = report.BaselineDumpFileName is { } earlier ? $", compared with {earlier}" : string.Empty;
        output.WriteLine($"Leak suspects in {report.DumpFileName}{baseline}: {report.Suspects.Count} retaining at least {report.ThresholdPercent:0.#} % of {Bytes(report.Live.Bytes)} live, analysed in {Seconds(report.AnalysisDurationMs)}");
        var number = 0;
        foreach (var suspect in report.Suspects)
        {
            output.WriteLine();
            output.WriteLine($"#{++number}  {suspect.Headline}");
            if (suspect.Pattern is { } pattern)
            {
                output.WriteLine($"  pattern:      {pattern.Name}");
                output.WriteLine($"  why:          {pattern.Explanation}");
                output.WriteLine($"  fix:          {pattern.Fix} ({pattern.Link})");
            }

            output.WriteLine($"  path:         {suspect.RootPath.Text}");
            if (suspect.Kind != SuspectKinds.Object || suspect.Suspect.Address != suspect.AccumulationPoint.Address)
            {
                output.WriteLine($"  suspect:      {Describe(suspect.Suspect)}");
            }

            output.WriteLine($"  accumulates:  {Describe(suspect.AccumulationPoint)}");
            if (suspect.Holds is { } holds)
            {
                output.WriteLine($"  holds:        {Count(holds.Count)} x {holds.ElementType ?? "?"} ({holds.Kind})");
            }

            if (suspect.Growth is { } growth)
            {
                output.WriteLine(growth.IsNew ? "  growth:       new since the baseline" : $"  growth:       {SignedBytes(growth.RetainedBytesDelta)} (was {Bytes(growth.BaselineRetainedBytes ?? 0)})");
            }

            output.WriteLine($"  fingerprint:  {suspect.Fingerprint}");
        }

        WriteNotes(output, report.Notes);
    }

    private static string Describe(SuspectObject item)
    {
        var instances = item.InstanceCount == 1 ? item.TypeName : $"{Count(item.InstanceCount)} x {item.TypeName}";
        return string.Create(CultureInfo.InvariantCulture, $"{instances} at {item.Address} retains {Bytes(item.RetainedBytes)} ({item.RetainedPercent:0.#} %)");
    }

    private static void WriteTypes(TextWriter output, string title, IReadOnlyList<TypeStats> types)
    {
        output.WriteLine();
        output.WriteLine(title);
        var table = new TextTable(("Objects", true), ("Bytes", true), ("Type", false));
        foreach (var type in types)
        {
            table.AddRow(Count(type.Count), Bytes(type.Bytes), type.Name);
        }

        table.WriteTo(output);
    }

    private static void WriteDeltas(TextWriter output, string title, IReadOnlyList<TypeDelta> deltas)
    {
        output.WriteLine();
        output.WriteLine(title);
        if (deltas.Count == 0)
        {
            output.WriteLine("  (none)");
            return;
        }

        var table = new TextTable(("Objects", true), ("Change", true), ("Bytes", true), ("Change", true), ("Type", false));
        foreach (var delta in deltas)
        {
            table.AddRow(Count(delta.CountAfter), SignedCount(delta.CountDelta), Bytes(delta.BytesAfter), SignedBytes(delta.BytesDelta), delta.Name);
        }

        table.WriteTo(output);
    }

    private static void WriteNotes(TextWriter output, IReadOnlyList<string> notes)
    {
        if (notes.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("Notes");
        foreach (var note in notes)
        {
            output.WriteLine($"  - {note}");
        }
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string SignedCount(long value) => (value > 0 ? "+" : string.Empty) + Count(value);

    internal static string SignedBytes(long value) => (value > 0 ? "+" : string.Empty) + Bytes(value);

    internal static string Bytes(long bytes)
    {
        var value = Math.Abs((double)bytes);
        var unit = 0;
        while (value >= 1024 && unit < ByteUnits.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var sign = bytes < 0 ? "-" : string.Empty;
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0} {ByteUnits[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0.0} {ByteUnits[unit]}");
    }

    private static string Seconds(long milliseconds) => string.Create(CultureInfo.InvariantCulture, $"{milliseconds / 1000.0:0.0} s");

    private static string Quote(string value) => "\"" + value.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal) + "\"";
}
