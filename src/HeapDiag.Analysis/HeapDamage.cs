using System.Globalization;
using System.Text.Json.Serialization;

namespace HeapDiag.Analysis;

/// <summary>
/// What the heap walk could not trust in a dump and left out of every number: damage from a disk, a copy or a transfer
/// that changed the file, or pages the dump writer could not read. A report carries it (<c>damage</c>) whenever anything
/// was left out; past <see cref="LimitPercent"/> the analysis refuses with <see cref="HeapDumpDamagedException"/> instead.
/// </summary>
/// <param name="ObjectsSkipped">Reachable objects left out: their method table did not resolve to a type, or their size ran past the end of their heap range.</param>
/// <param name="ReferencesDropped">References that pointed outside the heap's ranges, or not at an object boundary, and were not followed.</param>
/// <param name="BytesUnreadable">
/// Bytes of the heap's ranges the whole-heap walk could not read: from a broken object to the next readable one, which
/// for ClrMD's walk is the end of the region. Left out of the in-heap totals; reported, but not part of the limit.
/// </param>
/// <param name="HeapBytes">Bytes of the heap's object ranges (segments or regions, up to their allocated end): no total can be larger.</param>
public sealed record HeapDamage(long ObjectsSkipped, long ReferencesDropped, long BytesUnreadable, long HeapBytes)
{
    /// <summary>Past this share of reachable objects skipped or references dropped, the numbers would mislead: the analysis refuses.</summary>
    public const double LimitPercent = 1.0;

    /// <summary>Whether anything was left out.</summary>
    [JsonIgnore]
    public bool Any => ObjectsSkipped > 0 || ReferencesDropped > 0 || BytesUnreadable > 0;

    /// <summary>The counts in one clause, for notes and error messages.</summary>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"{ObjectsSkipped:N0} objects skipped, {ReferencesDropped:N0} references dropped, {BytesUnreadable:N0} of {HeapBytes:N0} heap bytes unreadable");
}

/// <summary>
/// The dump is damaged beyond what a report can honestly show: more than <see cref="HeapDamage.LimitPercent"/> of its
/// reachable objects or references could not be read, or its totals would exceed the heap's own ranges.
/// <see cref="Damage"/> has the counts.
/// </summary>
public sealed class HeapDumpDamagedException : Exception
{
    /// <summary>Creates the exception with the counts and a one-line reason.</summary>
    public HeapDumpDamagedException(HeapDamage damage, string message)
        : base(message)
    {
        Damage = damage;
    }

    /// <summary>Creates the exception with a generic reason.</summary>
    public HeapDumpDamagedException()
        : this(new HeapDamage(0, 0, 0, 0), "the dump is damaged")
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public HeapDumpDamagedException(string message)
        : this(new HeapDamage(0, 0, 0, 0), message)
    {
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public HeapDumpDamagedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Damage = new HeapDamage(0, 0, 0, 0);
    }

    /// <summary>What was left out, counted until the walk stopped.</summary>
    public HeapDamage Damage { get; }
}
