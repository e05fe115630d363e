using System.Text;

namespace HeapDiag.Analysis.Allocations;

/// <summary>
/// Which of the asked-for types a type named by the runtime is. The runtime spells generics <c>List`1[Order]</c>, a
/// dump (and a person) <c>List&lt;Order&gt;</c>; a person may also give only the last part of a name (<c>Order</c>).
/// The answer for each runtime name is kept: a busy trace names the same few types over and over.
/// </summary>
internal sealed class AllocationTypeFilter(IReadOnlyList<string> requested)
{
    private readonly string[] _normalized = [.. requested.Select(Normalize)];
    private readonly Dictionary<string, int> _answers = new(StringComparer.Ordinal);

    /// <summary>The index of the asked-for type <paramref name="runtimeName"/> is, or -1.</summary>
    public int Match(string runtimeName)
    {
        if (_answers.TryGetValue(runtimeName, out var known))
        {
            return known;
        }

        var name = Normalize(runtimeName);
        var index = Array.IndexOf(_normalized, name);
        if (index < 0)
        {
            index = Array.FindIndex(_normalized, wanted => !wanted.Contains('.', StringComparison.Ordinal) && EndsWithPart(name, wanted));
        }

        _answers[runtimeName] = index;
        return index;
    }

    private static bool EndsWithPart(string name, string part) =>
        name.EndsWith(part, StringComparison.Ordinal) && (name.Length == part.Length || name[^(part.Length + 1)] is '.' or '+');

    /// <summary><c>System.Collections.Generic.List`1[Orders.Order]</c> and <c>…List&lt;Orders.Order&gt;</c> alike: no arity, angle brackets, no spaces.</summary>
    internal static string Normalize(string name)
    {
        var text = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '`')
            {
                while (i + 1 < name.Length && char.IsAsciiDigit(name[i + 1]))
                {
                    i++;
                }

                continue;
            }

            text.Append(c switch { '[' => '<', ']' => '>', _ => c });
        }

        return text.Replace(" ", string.Empty).ToString();
    }
}
