using System.Text;
using System.Text.RegularExpressions;

namespace HeapDiag.Analysis.Internal.Suspects;

/// <summary>Type and field names as a person reads them: no namespaces, properties instead of backing fields, closures named.</summary>
internal static partial class TypeNames
{
    private const string Closure = "\u2039closure\u203A";
    private const string Lambdas = "\u2039lambdas\u203A";

    /// <summary>
    /// <c>System.Collections.Generic.List&lt;Orders.Order&gt;</c> → <c>List&lt;Order&gt;</c>; nested types keep their
    /// outer type (<c>Startup.Registry</c>); a compiler-generated closure class is <c>closure in Program</c>.
    /// </summary>
    public static string Short(string fullName)
    {
        var name = CompilerGenerated(fullName);
        var result = new StringBuilder(name.Length);
        var tokenStart = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i < name.Length && name[i] is not ('<' or '>' or ',' or '[' or ']' or ' '))
            {
                continue;
            }

            result.Append(ShortToken(name[tokenStart..i]));
            if (i < name.Length)
            {
                result.Append(name[i]);
            }

            tokenStart = i + 1;
        }

        return result.ToString();
    }

    /// <summary><c>&lt;Payload&gt;k__BackingField</c> → <c>Payload</c>; other names unchanged.</summary>
    public static string Field(string field) =>
        field.StartsWith('<') && field.IndexOf(">k__BackingField", StringComparison.Ordinal) is > 1 and var end ? field[1..end] : field;

    /// <summary>A static root's name (<c>Namespace.Type.Field</c>) with a backing field shown as its property.</summary>
    public static string StaticRoot(string name)
    {
        var backing = name.IndexOf(".<", StringComparison.Ordinal);
        return backing > 0 ? $"{name[..backing]}.{Field(name[(backing + 1)..])}" : name;
    }

    /// <summary>
    /// The generic arguments of a generic type, as written (<c>System.String, Orders.Order</c>); null when the type is
    /// not generic, or is an array or nested type of a generic type (<c>Dictionary&lt;K, V&gt;+Entry[]</c>).
    /// </summary>
    public static string? GenericArguments(string fullName)
    {
        var open = fullName.IndexOf('<', StringComparison.Ordinal);
        return open > 0 && MatchingClose(fullName, open) == fullName.Length - 1 ? fullName[(open + 1)..^1] : null;
    }

    /// <summary>
    /// The name without generic arguments when the type itself is generic (<c>System.Collections.Generic.List</c>);
    /// otherwise the whole name, so an array or nested type of a generic type is never taken for it.
    /// </summary>
    public static string Definition(string fullName)
    {
        var open = fullName.IndexOf('<', StringComparison.Ordinal);
        return open > 0 && MatchingClose(fullName, open) == fullName.Length - 1 ? fullName[..open] : fullName;
    }

    private static int MatchingClose(string name, int open)
    {
        var depth = 0;
        for (var i = open; i < name.Length; i++)
        {
            depth += name[i] switch { '<' => 1, '>' => -1, _ => 0 };
            if (depth == 0)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether the type is the runtime's or the framework's own (System.*, Microsoft.*), not the application's.</summary>
    public static bool IsFramework(string fullName) =>
        fullName.StartsWith("System.", StringComparison.Ordinal) || fullName.StartsWith("Microsoft.", StringComparison.Ordinal);

    private static string ShortToken(string token)
    {
        if (token.Length == 0)
        {
            return token;
        }

        var lastDot = token.LastIndexOf('.');
        var name = lastDot >= 0 ? token[(lastDot + 1)..] : token;
        if (name.EndsWith("+" + Closure, StringComparison.Ordinal))
        {
            return $"closure in {name[..^(Closure.Length + 1)].Replace('+', '.')}";
        }

        if (name.EndsWith("+" + Lambdas, StringComparison.Ordinal))
        {
            return $"lambdas of {name[..^(Lambdas.Length + 1)].Replace('+', '.')}";
        }

        return name.Replace('+', '.');
    }

    /// <summary>Replaces the angle brackets of compiler-generated names, so they are not read as generic arguments.</summary>
    private static string CompilerGenerated(string name)
    {
        if (!name.Contains("+<", StringComparison.Ordinal))
        {
            return name;
        }

        name = DisplayClass().Replace(name, "+" + Closure);
        name = LambdaCache().Replace(name, "+" + Lambdas);
        return OtherGenerated().Replace(name, m => $"+\u2039{m.Groups["member"].Value}\u203A");
    }

    [GeneratedRegex(@"\+<>c__DisplayClass[\w]*", RegexOptions.CultureInvariant)]
    private static partial Regex DisplayClass();

    [GeneratedRegex(@"\+<>c(?![\w])", RegexOptions.CultureInvariant)]
    private static partial Regex LambdaCache();

    [GeneratedRegex(@"\+<(?<member>[^<>]*)>[\w]*", RegexOptions.CultureInvariant)]
    private static partial Regex OtherGenerated();
}
