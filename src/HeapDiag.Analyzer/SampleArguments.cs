using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace HeapDiag.Analyzer;

/// <summary>The command line of <c>sample --pid PID --out DIR --seconds N --type T [--type T …]</c> (see <see cref="AllocationSampler"/>).</summary>
internal sealed record SampleArguments(int ProcessId, string OutputDirectory, int Seconds, IReadOnlyList<string> Types)
{
    public const int MaxSeconds = 300;

    public static bool TryParse(string[] args, [NotNullWhen(true)] out SampleArguments? arguments, out string problem)
    {
        arguments = null;
        problem = $"usage: {AnalyzerProtocol.SampleCommand} --pid PID --out DIR --seconds 1..{MaxSeconds} --type NAME [--type NAME …]";
        if (args.Length == 0 || args[0] != AnalyzerProtocol.SampleCommand || args.Length % 2 == 0)
        {
            return false;
        }

        var types = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            if (args[i] == "--type")
            {
                types.Add(args[i + 1]);
            }
            else
            {
                values[args[i]] = args[i + 1];
            }
        }

        if (types.Count == 0 || !values.TryGetValue("--out", out var output) || !Directory.Exists(output)
            || !int.TryParse(values.GetValueOrDefault("--pid"), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !int.TryParse(values.GetValueOrDefault("--seconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > MaxSeconds)
        {
            return false;
        }

        arguments = new SampleArguments(pid, output, seconds, types);
        return true;
    }
}
