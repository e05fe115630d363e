using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace HeapDiag.Analyzer;

/// <summary>The analyzer's command line (see <see cref="Program"/>).</summary>
internal sealed record AnalyzerArguments(string Command, string DumpPath, string OutputDirectory, long MaxMemoryBytes, double ThresholdPercent, string? TypeName)
{
    public static bool TryParse(string[] args, [NotNullWhen(true)] out AnalyzerArguments? arguments, out string problem)
    {
        arguments = null;
        if (args.Length == 0 || args[0] is not (AnalyzerProtocol.AnalyzeCommand or AnalyzerProtocol.RetainersCommand or AnalyzerProtocol.RuntimeCommand) || args.Length % 2 == 0)
        {
            problem = $"usage: {AnalyzerProtocol.AnalyzeCommand}|{AnalyzerProtocol.RetainersCommand}|{AnalyzerProtocol.RuntimeCommand} --dump PATH --out DIR --max-memory BYTES [--threshold PERCENT] [--type NAME]";
            return false;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }

        problem = string.Empty;
        if (!values.TryGetValue("--dump", out var dump) || !values.TryGetValue("--out", out var output) || !Directory.Exists(output))
        {
            problem = "--dump and --out (an existing directory) are required";
        }
        else if (!values.TryGetValue("--max-memory", out var memory) || !long.TryParse(memory, NumberStyles.None, CultureInfo.InvariantCulture, out var maxMemory))
        {
            problem = "--max-memory must be a number of bytes";
        }
        else if (!double.TryParse(values.GetValueOrDefault("--threshold", "10"), NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold) || threshold is <= 0 or > 100)
        {
            problem = "--threshold must be more than 0 and at most 100";
        }
        else if (args[0] == AnalyzerProtocol.RetainersCommand && string.IsNullOrWhiteSpace(values.GetValueOrDefault("--type")))
        {
            problem = "--type is required with retainers";
        }
        else
        {
            arguments = new AnalyzerArguments(args[0], dump, output, maxMemory, threshold, values.GetValueOrDefault("--type"));
        }

        return arguments is not null;
    }
}
