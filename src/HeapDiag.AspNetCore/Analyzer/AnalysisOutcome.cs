namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>Why an analysis gave no answer; each maps to one HTTP status.</summary>
internal enum AnalysisFailure
{
    /// <summary>No such dump in the store (404).</summary>
    DumpNotFound,

    /// <summary>The file is truncated, corrupt or not a .NET dump (422).</summary>
    Unreadable,

    /// <summary>The type name matches no live type (404).</summary>
    TypeNotFound,

    /// <summary>The type name matches several types (400; the candidates are listed).</summary>
    TypeAmbiguous,

    /// <summary>The dump is only in the bucket, and the bucket cannot be reached (502).</summary>
    Unavailable,

    /// <summary>The analyzer's memory budget is too small for the dump (503).</summary>
    AnalysisBudget,

    /// <summary>The dump directory's volume has no room for the analysis's scratch files (507).</summary>
    AnalysisScratchSpace,

    /// <summary>The analyzer process cannot be started here: no runtime host, no analyzer assembly (503).</summary>
    AnalyzerUnavailable,

    /// <summary><c>Analysis:Mode</c> is <c>Off</c> (503).</summary>
    AnalysisOff,

    /// <summary>The analyzer ran longer than <c>Analysis:Timeout</c> and was stopped (504).</summary>
    AnalysisTimeout,

    /// <summary>
    /// The dump is damaged (422): its SHA-256 no longer matches the one recorded at capture, too much of its heap could not
    /// be read, or the runtime's data access library crashed reading it.
    /// </summary>
    DumpDamaged,

    /// <summary>The analyzer failed for another reason (500).</summary>
    AnalyzerFailed,
}

/// <summary>An analysis answer, or why there is none and what to do.</summary>
internal sealed record AnalysisOutcome<T>(T? Value, AnalysisProblem? Problem = null)
    where T : class
{
    public static AnalysisOutcome<T> Failed(AnalysisProblem problem) => new(null, problem);
}

/// <summary>Why an analysis gave no answer, for a person: what happened, what to do, and the numbers behind it.</summary>
internal sealed record AnalysisProblem(
    AnalysisFailure Failure, string Detail, string? Fix = null, long? NeededBytes = null, long? BudgetBytes = null, IReadOnlyList<string>? Candidates = null)
{
    /// <summary>For <see cref="AnalysisFailure.DumpDamaged"/>: what the heap walk could not read.</summary>
    public HeapDiag.Analysis.HeapDamage? Damage { get; init; }

    /// <summary>For <see cref="AnalysisFailure.DumpDamaged"/>: the signal the analyzer died of.</summary>
    public string? Signal { get; init; }
}
