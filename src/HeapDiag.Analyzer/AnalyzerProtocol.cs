using HeapDiag.Analysis;

namespace HeapDiag.Analyzer;

/// <summary>
/// How the app and the analyzer process talk: the command line the app passes, the files the analyzer writes into the
/// output directory, and the exit codes. The app never reads the dump; the analyzer never writes outside its output
/// directory (which is also its scratch directory).
/// </summary>
public static class AnalyzerProtocol
{
    /// <summary>The analyzer's assembly file name, found beside the app's.</summary>
    public const string AssemblyFileName = "HeapDiag.Analyzer.dll";

    /// <summary>Command: the summary and the leak suspects, from one mark pass and one dominator tree.</summary>
    public const string AnalyzeCommand = "analyze";

    /// <summary>Command: retention paths of one type (<c>--type</c>).</summary>
    public const string RetainersCommand = "retainers";

    /// <summary>Command: runtime facts (GC handles, finalizer queue, threads, modules, fragmentation), one heap walk.</summary>
    public const string RuntimeCommand = "runtime";

    /// <summary>
    /// Command: <c>digest --follow PATH [--zstd OUT]</c>, the SHA-256 of a dump (and its zstd form in OUT) while the
    /// runtime writes it; the app sends <c>end LENGTH</c> when the writer is done and reads <c>sha256 HEX</c>, written
    /// once OUT is complete.
    /// </summary>
    public const string DigestCommand = "digest";

    /// <summary>
    /// Command: <c>sample --pid PID --out DIR --seconds N --type T [--type T …]</c>, the allocation sites of the types in
    /// the app's process over an EventPipe session (<see cref="SitesFile"/>); closing standard input ends it at once.
    /// </summary>
    public const string SampleCommand = "sample";

    /// <summary>Result file of the summary (<c>HeapSummary</c>, camelCase JSON).</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Result file of the leak suspects (<c>LeakSuspectReport</c>).</summary>
    public const string SuspectsFile = "suspects.json";

    /// <summary>Result file of the retention paths (<c>RetentionReport</c>).</summary>
    public const string RetainersFile = "retainers.json";

    /// <summary>Result file of the allocation sites (<c>AllocationSitesReport</c>).</summary>
    public const string SitesFile = "sites.json";

    /// <summary>
    /// Test-only hook: when this environment variable is <c>SIGNAL:FILE</c> (<c>SIGSEGV</c>, <c>SIGBUS</c> or <c>SIGABRT</c>,
    /// and a dump's file name), the analyzer dies of that signal right after opening that dump, as it would if the
    /// runtime's data access library crashed on it. Only tests set it.
    /// </summary>
    public const string TestSignalVariable = HeapDiag.Analysis.Internal.TestSignalHook.Variable;

    /// <summary>Result file of the runtime facts (<c>RuntimeReport</c>).</summary>
    public const string RuntimeFile = "runtime.json";

    /// <summary>Why the analysis (or part of it) failed (<see cref="AnalyzerFailure"/>).</summary>
    public const string FailureFile = "failure.json";

    /// <summary>Exit codes.</summary>
    public static class ExitCodes
    {
        /// <summary>Every result asked for was written.</summary>
        public const int Success = 0;

        /// <summary>The command line was wrong (a bug in the caller).</summary>
        public const int Usage = 1;

        /// <summary>The dump cannot be analysed (<see cref="FailureCodes.Unreadable"/>).</summary>
        public const int Unreadable = 2;

        /// <summary>Something failed inside the analyzer (<see cref="FailureCodes.Internal"/>); details on standard error.</summary>
        public const int Internal = 3;

        /// <summary>The memory budget is too small (<see cref="FailureCodes.Budget"/>); the summary may still have been written.</summary>
        public const int Budget = 4;

        /// <summary>The type asked for matches no live type, or several (<see cref="FailureCodes.TypeNotFound"/>, <see cref="FailureCodes.TypeAmbiguous"/>).</summary>
        public const int TypeNotFound = 5;

        /// <summary>Standard input closed: the app that started the analyzer is gone, so the analyzer ends too.</summary>
        public const int ParentGone = 6;

        /// <summary>The allocation sampling session could not be opened (<see cref="FailureCodes.NoDiagnosticPort"/>, <see cref="FailureCodes.SessionRefused"/>).</summary>
        public const int SamplingRefused = 7;

        /// <summary>The dump is damaged past what a report can show (<see cref="FailureCodes.DumpDamaged"/>).</summary>
        public const int DumpDamaged = 8;

        /// <summary>The scratch files' volume ran out of space (<see cref="FailureCodes.ScratchSpace"/>).</summary>
        public const int ScratchSpace = 9;
    }

    /// <summary>Codes of <see cref="AnalyzerFailure.Code"/>.</summary>
    public static class FailureCodes
    {
        /// <summary>The file is truncated, corrupt or not a .NET dump.</summary>
        public const string Unreadable = "Unreadable";

        /// <summary>The dominator tree does not fit the memory budget.</summary>
        public const string Budget = "Budget";

        /// <summary>No live type has the name.</summary>
        public const string TypeNotFound = "TypeNotFound";

        /// <summary>Several live types have the name.</summary>
        public const string TypeAmbiguous = "TypeAmbiguous";

        /// <summary>The app's diagnostic port cannot be reached (diagnostics disabled, another TMPDIR, no socket).</summary>
        public const string NoDiagnosticPort = "NoDiagnosticPort";

        /// <summary>The runtime refused the EventPipe session.</summary>
        public const string SessionRefused = "SessionRefused";

        /// <summary>
        /// The dump is damaged: too much of its heap could not be read (<see cref="AnalyzerFailure.Damage"/>), or the runtime's
        /// data access library crashed reading it (<see cref="AnalyzerFailure.Signal"/>, set by the app from the exit status).
        /// </summary>
        public const string DumpDamaged = "DumpDamaged";

        /// <summary>
        /// The volume of the analysis's scratch files (its output directory) ran out of space
        /// (<see cref="AnalyzerFailure.NeededBytes"/> when known before writing).
        /// </summary>
        public const string ScratchSpace = "ScratchSpace";

        /// <summary>Anything else.</summary>
        public const string Internal = "Internal";
    }
}

/// <summary>What went wrong, written as <see cref="AnalyzerProtocol.FailureFile"/>.</summary>
/// <param name="Code">One of <see cref="AnalyzerProtocol.FailureCodes"/>.</param>
/// <param name="Message">One line a person understands.</param>
/// <param name="NeededBytes">For <see cref="AnalyzerProtocol.FailureCodes.Budget"/>: the memory the analysis needs; for <see cref="AnalyzerProtocol.FailureCodes.ScratchSpace"/>, the disk space, when known.</param>
/// <param name="BudgetBytes">For <see cref="AnalyzerProtocol.FailureCodes.Budget"/>: the budget it had.</param>
/// <param name="Candidates">For <see cref="AnalyzerProtocol.FailureCodes.TypeAmbiguous"/>: the types the name could mean.</param>
/// <param name="Damage">For <see cref="AnalyzerProtocol.FailureCodes.DumpDamaged"/>: what the heap walk could not read.</param>
/// <param name="Signal">For <see cref="AnalyzerProtocol.FailureCodes.DumpDamaged"/>: the signal the analyzer died of (<c>SIGSEGV</c>).</param>
public sealed record AnalyzerFailure(
    string Code, string Message, long? NeededBytes = null, long? BudgetBytes = null, IReadOnlyList<string>? Candidates = null, HeapDamage? Damage = null, string? Signal = null);
