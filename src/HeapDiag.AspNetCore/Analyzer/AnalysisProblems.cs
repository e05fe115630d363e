using HeapDiag.Analysis;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>The analysis failures a person can get, each with what to do about it.</summary>
internal static class AnalysisProblems
{
    private const string ElsewhereFix =
        "analyse the dump on another machine: download it (GET /heapdump/{id}) and run 'heapdiag suspects FILE', or ship dumps to a bucket (HeapDiagnostics:Egress:Provider=S3 or AzureBlob) and analyse them there.";

    public static AnalysisProblem Off { get; } = new(AnalysisFailure.AnalysisOff,
        "Analysis is turned off here (HeapDiagnostics:Analysis:Mode is Off).",
        $"Set HeapDiagnostics:Analysis:Mode to ChildProcess, or {ElsewhereFix}");

    public static AnalysisProblem NotFound(HeapDumpId id) =>
        new(AnalysisFailure.DumpNotFound, $"There is no heap dump '{id}' here.", "List the dumps with GET /heapdump.");

    public static AnalysisProblem NoResult(HeapDumpId id) =>
        new(AnalysisFailure.AnalyzerFailed, $"The analyzer finished without writing a result for '{id}'.", "Look for the analyzer's lines (event 4202) in the app's log.");

    /// <summary>A damaged dump (422 <c>DumpDamaged</c>): the detail says how it was found, the fix what to do.</summary>
    public static AnalysisProblem Damaged(string detail) => new(AnalysisFailure.DumpDamaged, detail,
        "Capture a new dump, or, if it was uploaded (HeapDiagnostics:Egress), fetch the bucket's copy; GET /heapdump/{id}?verify=false still downloads the damaged file for forensics.");

    /// <summary>What a failed or refused run of the analyzer means for the caller.</summary>
    public static AnalysisProblem FromRun(AnalyzerRun run, HeapDumpId id)
    {
        if (run.TimedOut)
        {
            return new AnalysisProblem(AnalysisFailure.AnalysisTimeout,
                $"The analysis of '{id}' took longer than HeapDiagnostics:Analysis:Timeout and was stopped.",
                $"Raise HeapDiagnostics:Analysis:Timeout, or {ElsewhereFix}");
        }

        var failure = run.Failure ?? new AnalyzerFailure(AnalyzerProtocol.FailureCodes.Internal, "the analyzer failed");
        return failure.Code switch
        {
            "NoHost" => new AnalysisProblem(AnalysisFailure.AnalyzerUnavailable, Sentence(failure.Message), AnalyzerHost.ProblemFix),
            AnalyzerProtocol.FailureCodes.Budget => Budget(failure, run.Budget),
            AnalyzerProtocol.FailureCodes.ScratchSpace => new AnalysisProblem(AnalysisFailure.AnalysisScratchSpace, Sentence(failure.Message),
                $"Free space on the volume of HeapDiagnostics:Storage:Directory (the analysis writes scratch files there while it runs: {HeapAnalysisScratchSpaceException.SizeRule}, deleted afterwards), or {ElsewhereFix}",
                failure.NeededBytes),
            AnalyzerProtocol.FailureCodes.Unreadable => new AnalysisProblem(AnalysisFailure.Unreadable, Sentence(failure.Message),
                "The file cannot be analysed; delete it with DELETE /heapdump/{id} and capture a new one."),
            AnalyzerProtocol.FailureCodes.TypeNotFound => new AnalysisProblem(AnalysisFailure.TypeNotFound, Sentence(failure.Message),
                "Name a type with live instances: GET /heapdump/{id}/summary lists them."),
            AnalyzerProtocol.FailureCodes.TypeAmbiguous => new AnalysisProblem(AnalysisFailure.TypeAmbiguous, Sentence(failure.Message),
                "Give the full type name, one of the candidates.", Candidates: failure.Candidates),
            AnalyzerProtocol.FailureCodes.DumpDamaged => Damaged(Sentence($"The dump is damaged: {failure.Message}")) with { Damage = failure.Damage, Signal = failure.Signal },
            _ => new AnalysisProblem(AnalysisFailure.AnalyzerFailed, Sentence($"The analyzer failed: {failure.Message}"), "Look for the analyzer's lines (event 4202) in the app's log."),
        };
    }

    /// <summary>A message from the analysis library ("truncated: …") as a sentence: capital first, full stop last.</summary>
    private static string Sentence(string message) =>
        message.Length == 0 ? message : string.Concat(char.ToUpperInvariant(message[0]).ToString(), message.AsSpan(1), message.EndsWith('.') ? string.Empty : ".");

    private static AnalysisProblem Budget(AnalyzerFailure failure, MemoryBudget? budget) =>
        new(AnalysisFailure.AnalysisBudget,
            Sentence($"The analyzer's memory budget is too small: {failure.Message}"),
            $"Raise HeapDiagnostics:Analysis:MaxMemoryBytes (or the container's memory limit), or {ElsewhereFix}",
            failure.NeededBytes,
            failure.BudgetBytes ?? budget?.Bytes);
}
