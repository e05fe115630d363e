namespace HeapDiag.Analysis;

/// <summary>
/// A type name given to <see cref="HeapDump.FindRetainers"/> matches no live type of the dump, or several
/// (<see cref="Candidates"/> lists them then).
/// </summary>
public sealed class HeapTypeNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line a person understands.</param>
    /// <param name="typeName">The name that was asked for.</param>
    /// <param name="candidates">The full names it could mean; empty when it matches nothing.</param>
    public HeapTypeNotFoundException(string message, string typeName, IReadOnlyList<string> candidates)
        : base(message)
    {
        TypeName = typeName;
        Candidates = candidates;
    }

    /// <summary>Creates the exception with a generic reason.</summary>
    public HeapTypeNotFoundException()
        : this("no such type in the dump", string.Empty, [])
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public HeapTypeNotFoundException(string message)
        : this(message, string.Empty, [])
    {
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public HeapTypeNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        TypeName = string.Empty;
        Candidates = [];
    }

    /// <summary>The name that was asked for.</summary>
    public string TypeName { get; }

    /// <summary>The full names the name could mean (at most 10), when it is ambiguous; empty when it matches nothing.</summary>
    public IReadOnlyList<string> Candidates { get; }

    /// <summary>True when the name matched several types rather than none.</summary>
    public bool IsAmbiguous => Candidates.Count > 1;
}
