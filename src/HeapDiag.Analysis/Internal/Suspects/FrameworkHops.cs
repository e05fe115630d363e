namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>
/// Joins the private hops inside a framework object into one step, as a person would write them:
/// <c>MemoryCache._coherentState → CoherentState._stringEntries</c> reads <c>MemoryCache._coherentState._stringEntries</c>.
/// A hop is joined when it is a field of a framework type nested in the type the step started at (its private
/// state); a step of more than <see cref="MaxShownFields"/> fields shows the first and the last.
/// </summary>
internal static class FrameworkHops
{
    private const int MaxShownFields = 3;

    /// <summary>The steps with the framework's private hops joined.</summary>
    public static List<SuspectPathStep> Join(List<SuspectPathStep> steps) => [.. Runs(steps).Select(run => Shown(steps, run))];

    /// <summary>
    /// What holds the last object, with the joined fields (<c>Microsoft.Extensions.Caching.Memory.MemoryCache._coherentState._stringEntries</c>)
    /// when the last step was joined; else <paramref name="holder"/>.
    /// </summary>
    public static string HolderName(List<SuspectPathStep> steps, List<SuspectPathStep> shown, string holder)
    {
        var last = Runs(steps).LastOrDefault();
        if (shown.Count == steps.Count || last.Count < 2 || holder != $"{steps[^2].TypeName}.{Field(steps[^1])}")
        {
            return holder;
        }

        var fields = steps.Skip(last.Start).Take(last.Count).Select(Field);
        return $"{steps[last.Start - 1].TypeName}.{string.Join('.', fields)}";
    }

    /// <summary>Runs of steps to show as one: (first step, number of steps).</summary>
    private static List<(int Start, int Count)> Runs(List<SuspectPathStep> steps)
    {
        var runs = new List<(int Start, int Count)>();
        for (var i = 0; i < steps.Count; i++)
        {
            if (runs.Count > 0 && i >= 2 && runs[^1] is var (start, count) && start + count == i && start >= 1
                && IsPlainField(steps[i - 1]) && IsPlainField(steps[i]) && IsPrivateStateOf(steps[i - 1].TypeName, steps[start - 1].TypeName))
            {
                runs[^1] = (start, count + 1);
            }
            else
            {
                runs.Add((i, 1));
            }
        }

        return runs;
    }

    private static SuspectPathStep Shown(List<SuspectPathStep> steps, (int Start, int Count) run)
    {
        var first = steps[run.Start];
        if (run.Count == 1)
        {
            return first;
        }

        var last = steps[run.Start + run.Count - 1];
        var middle = run.Count > MaxShownFields
            ? $".\u2026.{Field(last)}"
            : string.Concat(steps.Skip(run.Start + 1).Take(run.Count - 1).Select(step => "." + Field(step)));
        return last with { Text = first.Text + middle };
    }

    /// <summary>A framework type nested in the type the step started at: <c>MemoryCache+CoherentState</c> in <c>MemoryCache</c>.</summary>
    private static bool IsPrivateStateOf(string owner, string startOwner) =>
        TypeNames.IsFramework(owner) && owner.StartsWith(TypeNames.Definition(startOwner) + "+", StringComparison.Ordinal);

    /// <summary>A step written as <c>Owner.field</c>: not an event, a collection's inside, a chain or a captured variable.</summary>
    private static bool IsPlainField(SuspectPathStep step) =>
        step.FieldName is not null
        && !step.Text.EndsWith(']')
        && !step.Text.EndsWith(')')
        && !step.Text.Contains('\u00D7', StringComparison.Ordinal)
        && step.Text.EndsWith("." + Field(step), StringComparison.Ordinal);

    private static string Field(SuspectPathStep step) => TypeNames.Field(step.FieldName ?? "?");
}
