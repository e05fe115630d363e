namespace HeapDiag.Analysis;

/// <summary>
/// The analysis would need more memory than its budget (<see cref="HeapDumpOptions.MemoryBudgetBytes"/>), so it
/// stopped before allocating it. <see cref="Exception.Message"/> says how much is needed and what to do.
/// </summary>
public sealed class HeapAnalysisBudgetException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="neededBytes">Memory the analysis needs, all told.</param>
    /// <param name="budgetBytes">Memory it was allowed.</param>
    /// <param name="message">One line a person understands.</param>
    public HeapAnalysisBudgetException(long neededBytes, long budgetBytes, string message)
        : base(message)
    {
        NeededBytes = neededBytes;
        BudgetBytes = budgetBytes;
    }

    /// <summary>Creates the exception with a generic reason.</summary>
    public HeapAnalysisBudgetException()
        : this(0, 0, "the analysis needs more memory than its budget")
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public HeapAnalysisBudgetException(string message)
        : this(0, 0, message)
    {
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public HeapAnalysisBudgetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Memory the analysis needs, all told, in bytes.</summary>
    public long NeededBytes { get; }

    /// <summary>Memory it was allowed, in bytes.</summary>
    public long BudgetBytes { get; }
}
