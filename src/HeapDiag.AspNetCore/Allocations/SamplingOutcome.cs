using HeapDiag.Analysis.Allocations;

namespace HeapDiag.AspNetCore.Allocations;

/// <summary>Why allocation sampling gave no answer; each maps to one HTTP status.</summary>
internal enum SamplingFailure
{
    /// <summary>The runtime's diagnostic channel is off in this process: <c>DOTNET_EnableDiagnostics=0</c> (503).</summary>
    DiagnosticsDisabled,

    /// <summary>The process's diagnostic port (its socket) is not there or does not answer (503).</summary>
    NoDiagnosticPort,

    /// <summary>The runtime refused the EventPipe session (503).</summary>
    SessionRefused,

    /// <summary>A sampling session is already running (409).</summary>
    Busy,

    /// <summary>The type was not allocated during the window: the leak has stopped, or it is below the sampling rate (404).</summary>
    NotAllocated,

    /// <summary><c>Analysis:Mode</c> is <c>Off</c>, or the analyzer cannot be started here (503).</summary>
    AnalyzerUnavailable,

    /// <summary>The analyzer did not finish within the window plus <c>Analysis:Timeout</c>; it and its session were stopped (504).</summary>
    Timeout,

    /// <summary>Anything else (500).</summary>
    Failed,
}

/// <summary>What went wrong and what to do.</summary>
internal sealed record SamplingProblem(SamplingFailure Failure, string Detail, string Fix);

/// <summary>The sites, or why there are none.</summary>
internal sealed record SamplingOutcome(AllocationSitesReport? Report, SamplingProblem? Problem = null)
{
    public static SamplingOutcome Failed(SamplingFailure failure, string detail, string fix) => new(null, new SamplingProblem(failure, detail, fix));
}
