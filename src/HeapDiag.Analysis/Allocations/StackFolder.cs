using System.Text.RegularExpressions;

namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Turns a resolved stack into what a person reads: the app's own frames first, then the framework's folded into one
/// line per kind (<c>… 14 ASP.NET Core frames</c>). The app's innermost frame is where the fix goes.
/// </summary>
internal static partial class StackFolder
{
    private static readonly (string Prefix, string Kind)[] FrameworkKinds =
    [
        ("Microsoft.AspNetCore.", "ASP.NET Core"),
        ("Microsoft.Extensions.", "Microsoft.Extensions"),
        ("Microsoft.", "Microsoft"),
        ("System.", ".NET"),
        ("Internal.", ".NET"),
        ("Interop.", ".NET"),
        ("dynamicClass.", ".NET"),
        ("Swashbuckle.", "Swashbuckle"),
        ("Serilog.", "Serilog"),
        ("Newtonsoft.", "Newtonsoft.Json"),
        ("Grpc.", "gRPC"),
        ("Polly.", "Polly"),
    ];

    /// <summary>The kind of framework a method belongs to, or null for the app's own code.</summary>
    public static string? FrameworkKind(string method)
    {
        foreach (var (prefix, kind) in FrameworkKinds)
        {
            if (method.StartsWith(prefix, StringComparison.Ordinal))
            {
                return kind;
            }
        }

        return null;
    }

    /// <summary>The frames to show for a stack given innermost first.</summary>
    public static IReadOnlyList<string> Fold(IReadOnlyList<string> stack)
    {
        var shown = new List<string>();
        var folded = new List<(string Kind, int Count)>();
        foreach (var frame in stack)
        {
            if (FrameworkKind(frame) is not { } kind)
            {
                // An async method shows twice, its state machine and its stub, with the framework's frames between.
                if (shown.Count == 0 || shown[^1] != frame)
                {
                    shown.Add(frame);
                }

                continue;
            }

            var index = folded.FindIndex(entry => entry.Kind == kind);
            if (index < 0)
            {
                folded.Add((kind, 1));
            }
            else
            {
                folded[index] = (kind, folded[index].Count + 1);
            }
        }

        shown.AddRange(folded.Select(entry => $"\u2026 {entry.Count} {entry.Kind} frame{(entry.Count == 1 ? string.Empty : "s")}"));
        return shown;
    }

    /// <summary>
    /// The frames as a person names the code: an async method's state machine (<c>Type+&lt;Place&gt;d__3.MoveNext</c>)
    /// as <c>Type.Place</c>, a lambda (<c>Type+&lt;&gt;c.&lt;Map&gt;b__1_0</c>) as <c>Type.Map (lambda)</c>; a frame that
    /// then repeats the one before it (the state machine below its stub) is dropped.
    /// </summary>
    public static string[] Readable(IEnumerable<string> stack)
    {
        var frames = new List<string>();
        foreach (var frame in stack.Select(Readable))
        {
            if (frames.Count == 0 || frames[^1] != frame)
            {
                frames.Add(frame);
            }
        }

        return [.. frames];
    }

    internal static string Readable(string frame)
    {
        var match = CompilerGenerated().Match(frame);
        return !match.Success ? frame
            : match.Groups["kind"].Value == "d" ? $"{match.Groups["type"].Value}.{match.Groups["method"].Value}"
            : $"{match.Groups["type"].Value}.{match.Groups["method"].Value} (lambda)";
    }

    [GeneratedRegex(@"^(?<type>[^<>]+?)\+<(?:>c(?:__DisplayClass[\d_]+)?\.<)?(?<method>[^<>]+)>(?<kind>[db])__[\d_]+(?:\.MoveNext)?$", RegexOptions.CultureInvariant)]
    private static partial Regex CompilerGenerated();

    /// <summary>The app's innermost frame, or null when every frame is the framework's.</summary>
    public static string? AppFrame(IReadOnlyList<string> stack) => stack.FirstOrDefault(frame => FrameworkKind(frame) is null);
}
