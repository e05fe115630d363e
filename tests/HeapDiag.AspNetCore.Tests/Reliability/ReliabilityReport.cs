using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using HeapDiag.AspNetCore.Tests.Infrastructure;

namespace HeapDiag.AspNetCore.Tests.Reliability;

/// <summary>
/// Collects what each reliability case did and observed, and — when HEAPDIAG_RELIABILITY_REPORT names a file —
/// writes it as markdown after the run, so docs/RELIABILITY.md is always the output of the suite itself:
/// <c>HEAPDIAG_RELIABILITY_REPORT=docs/RELIABILITY.md dotnet test HeapDiag.sln --filter Category=Reliability</c>.
/// </summary>
public sealed class ReliabilityReport : IDisposable
{
    public const string Category = "Reliability";
    private const string TargetVariable = "HEAPDIAG_RELIABILITY_REPORT";

    private readonly ConcurrentDictionary<string, Row> _rows = new();

    public void Record(string area, string @case, string done, string observed) => _rows[$"{area}|{@case}"] = new Row(area, @case, done, observed);

    public void Dispose()
    {
        var target = Environment.GetEnvironmentVariable(TargetVariable);
        if (string.IsNullOrEmpty(target) || _rows.IsEmpty)
        {
            return;
        }

        var path = Path.IsPathRooted(target) ? target : Path.Combine(Repository.Root, target);
        var markdown = new StringBuilder();
        markdown.AppendLine("# Reliability");
        markdown.AppendLine();
        markdown.AppendLine("Written by the reliability suite (`tests/HeapDiag.AspNetCore.Tests/Reliability`), not by hand. Regenerate with:");
        markdown.AppendLine();
        markdown.AppendLine("```sh");
        markdown.AppendLine("HEAPDIAG_RELIABILITY_REPORT=docs/RELIABILITY.md dotnet test HeapDiag.sln --filter Category=Reliability");
        markdown.AppendLine("```");
        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"Last run: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores, {Environment.OSVersion}, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}. Every case passed (a failing case fails the suite and writes no row).");
        foreach (var area in _rows.Values.GroupBy(row => row.Area).OrderBy(group => group.Key, StringComparer.Ordinal))
        {
            markdown.AppendLine();
            markdown.AppendLine(CultureInfo.InvariantCulture, $"## {area.Key}");
            markdown.AppendLine();
            markdown.AppendLine("| case | what was done | observed |");
            markdown.AppendLine("|---|---|---|");
            foreach (var row in area.OrderBy(row => row.Case, StringComparer.Ordinal))
            {
                markdown.AppendLine(CultureInfo.InvariantCulture, $"| {Escape(row.Case)} | {Escape(row.Done)} | {Escape(row.Observed)} |");
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, markdown.ToString());
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private sealed record Row(string Area, string Case, string Done, string Observed);
}
