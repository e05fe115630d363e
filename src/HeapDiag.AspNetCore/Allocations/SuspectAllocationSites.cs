using HeapDiag.Analysis;
using HeapDiag.Analysis.Allocations;

namespace HeapDiag.AspNetCore.Allocations;

/// <summary>
/// Joins allocation sites to leak suspects: a suspect accumulates objects of one type (the <c>T</c> of its
/// <c>List&lt;T&gt;</c>, the values of its dictionary, its event's subscribers, or the instances themselves), and the
/// code that allocates that type is the code that keeps adding to it.
/// </summary>
internal static class SuspectAllocationSites
{
    /// <summary>The type a suspect accumulates, or null when the analysis could not tell.</summary>
    public static string? ElementType(LeakSuspect suspect) => suspect.Holds?.ElementType is { Length: > 0 } element
        ? suspect.Holds.Kind.Contains("Dictionary", StringComparison.Ordinal) ? LastTypeArgument(element) : element
        : suspect.Kind == SuspectKinds.Instances ? suspect.Suspect.TypeName : null;

    /// <summary>The distinct types the first <paramref name="count"/> suspects accumulate.</summary>
    public static IReadOnlyList<string> ElementTypes(IEnumerable<LeakSuspect> suspects, int count) =>
        [.. suspects.Take(count).Select(ElementType).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>Each suspect with the sites of the type it accumulates, when <paramref name="sites"/> has them.</summary>
    public static IReadOnlyList<LeakSuspect> Attach(IReadOnlyList<LeakSuspect> suspects, AllocationSitesReport? sites) =>
        sites is null ? suspects : [.. suspects.Select(suspect => ElementType(suspect) is { } type && sites.Types.FirstOrDefault(t => t.TypeName == type) is { } found
            ? suspect with { AllocationSites = found }
            : suspect)];

    /// <summary>
    /// The clause the leak report's log line ends with: <c>added by Orders.OrderService.Place (62 % of sampled AuditEntry
    /// allocations)</c>, or that the type was not allocated at all; null when nothing was sampled.
    /// </summary>
    public static string? Clause(IReadOnlyList<LeakSuspect> suspects, double seconds)
    {
        if (suspects.FirstOrDefault(s => s.AllocationSites is not null)?.AllocationSites is not { } sites)
        {
            return null;
        }

        var name = ShortName(sites.TypeName);
        return sites.Sites.FirstOrDefault() is { } top
            ? FormattableString.Invariant($"added by {top.AddedBy ?? top.AllocatingMethod} ({top.SharePercent:0} % of sampled {name} allocations)")
            : FormattableString.Invariant($"no {name} was allocated in the {seconds:0} s sampled after the dump: the code that added it has stopped");
    }

    /// <summary><c>Orders.AuditEntry</c> → <c>AuditEntry</c>; generic arguments kept whole.</summary>
    private static string ShortName(string type)
    {
        var generic = type.IndexOf('<', StringComparison.Ordinal);
        var dot = (generic < 0 ? type : type[..generic]).LastIndexOfAny(['.', '+']);
        return dot < 0 ? type : type[(dot + 1)..];
    }

    /// <summary><c>System.String, Orders.Order</c> → <c>Orders.Order</c>: the comma at depth zero splits key from value.</summary>
    private static string LastTypeArgument(string arguments)
    {
        var depth = 0;
        for (var i = arguments.Length - 1; i >= 0; i--)
        {
            depth += arguments[i] switch { '>' or ']' => 1, '<' or '[' => -1, _ => 0 };
            if (depth == 0 && arguments[i] == ',')
            {
                return arguments[(i + 1)..].Trim();
            }
        }

        return arguments.Trim();
    }
}
