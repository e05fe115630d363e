using System.Runtime.InteropServices;

namespace HeapDiag.Analysis.Internal;

/// <summary>
/// Test-only: when the environment variable <see cref="Variable"/> is <c>SIGNAL:FILE</c> (<c>SIGSEGV</c>, <c>SIGBUS</c>
/// or <c>SIGABRT</c>, and a dump's file name), the process analysing that dump dies of that signal right after opening
/// it: a real death by signal, the exit status a crash in the runtime's data access library leaves, so a test can prove
/// how the analyzer's caller (the app, the <c>heapdiag</c> tool) answers one without a dump known to crash that library.
/// Only the analyzer process and the tool's worker process call it, never an analysis in a process that serves
/// anything; nothing but tests sets the variable, and naming the file keeps it from touching any other analysis.
/// </summary>
internal static class TestSignalHook
{
    /// <summary>The environment variable a test sets.</summary>
    public const string Variable = "HEAPDIAG_ANALYZER_TEST_SIGNAL";

    private static readonly Dictionary<string, int> Signals = new(StringComparer.Ordinal) { ["SIGABRT"] = 6, ["SIGBUS"] = 7, ["SIGSEGV"] = 11 };

    public static void RaiseIfAsked(string dumpPath)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { } value
            || value.Split(':', 2) is not [var name, var file]
            || file != Path.GetFileName(dumpPath)
            || !Signals.TryGetValue(name, out var signal)
            || OperatingSystem.IsWindows())
        {
            return;
        }

        Console.Error.WriteLine($"{Variable} asks for {name}; raising it");

        // The runtime handles SIGSEGV and SIGABRT itself; the default action is what a crash in native code ends with.
        SetSignal(signal, 0);
        Raise(signal);
    }

    [DllImport("libc", EntryPoint = "signal")]
    private static extern nint SetSignal(int signal, nint handler);

    [DllImport("libc", EntryPoint = "raise")]
    private static extern int Raise(int signal);
}
