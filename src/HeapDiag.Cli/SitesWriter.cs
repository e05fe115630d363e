using System.Globalization;
using HeapDiag.Analysis;
using HeapDiag.Analysis.Allocations;

namespace HeapDiag.Cli;

/// <summary>Reads a trace for <c>heapdiag sites</c>, and prints its sites for a person.</summary>
internal static class SitesInput
{
    /// <summary>The sites of <paramref name="types"/> in the trace; a file that is not an EventPipe trace is reported as unusable.</summary>
    public static AllocationSitesReport Read(string path, IReadOnlyList<string> types)
    {
        try
        {
            return AllocationTrace.Read(path, types);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or EndOfStreamException or IOException or System.Runtime.Serialization.SerializationException)
        {
            throw new HeapDumpFormatException($"{Path.GetFileName(path)} is not a readable EventPipe trace (.nettrace): {ex.Message}", ex);
        }
    }
}

/// <summary>The text form of <see cref="AllocationSitesReport"/>.</summary>
internal static class SitesWriter
{
    public static void Write(TextWriter output, AllocationSitesReport report)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.TotalSamples:N0} allocation samples ({report.EventName}), {report.EventsLost:N0} events lost, {report.UnresolvedFrames:N0} frames unnamed"));
        foreach (var type in report.Types)
        {
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{type.TypeName}: {type.Samples:N0} samples, ~{type.EstimatedBytes / 1024.0 / 1024.0:0.0} MB allocated ({string.Join(", ", type.MatchedTypes)})"));
            if (type.Note is { } note)
            {
                output.WriteLine($"  {note}");
            }

            foreach (var site in type.Sites)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {site.SharePercent,5:0.0} %  added by {site.AddedBy ?? "(framework code only)"}, allocated in {site.AllocatingMethod} ({site.Samples:N0} samples)"));
                foreach (var frame in site.Frames)
                {
                    output.WriteLine($"           {frame}");
                }
            }
        }
    }
}
