using System.Diagnostics;
using System.Reflection;

namespace HeapDiag.Cli;

/// <summary>
/// <c>heapdiag</c> runs every command in a worker process of its own, as the app runs the analyzer: a damaged dump can
/// crash the runtime's data access library (native code) with SIGSEGV, SIGBUS or SIGABRT, which no exception handler
/// catches; the worker dies, and this process says what happened instead of leaving the shell's "Segmentation fault".
/// The worker is this same program with <see cref="WorkerVariable"/> set; its output and exit code pass through.
/// </summary>
internal static class WorkerProcess
{
    /// <summary>Set to <c>1</c> in the worker's environment: run the command here.</summary>
    public const string WorkerVariable = "HEAPDIAG_CLI_WORKER";

    /// <summary>Exit statuses of a process killed by a fault signal (128 + the signal's number, as .NET reports them on Unix).</summary>
    private static readonly Dictionary<int, string> CrashSignals = new() { [128 + 6] = "SIGABRT", [128 + 7] = "SIGBUS", [128 + 11] = "SIGSEGV" };

    public static bool IsWorker => Environment.GetEnvironmentVariable(WorkerVariable) == "1";

    /// <summary>Runs <paramref name="args"/> in a worker, copies its output, and returns its exit code (a crash becomes <see cref="ExitCodes.UnusableDump"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        using var worker = new Process { StartInfo = StartInfo(args) };

        // Ctrl+C reaches the worker too (same process group): it stops and reports; this process waits for it.
        ConsoleCancelEventHandler keepWaiting = (_, e) => e.Cancel = true;
        Console.CancelKeyPress += keepWaiting;
        try
        {
            worker.Start();
            var copyOut = Task.Run(() => CopyLines(worker.StandardOutput, output));
            var copyError = Task.Run(() => CopyLines(worker.StandardError, error));
            worker.WaitForExit();
            Task.WaitAll(copyOut, copyError);
        }
        finally
        {
            Console.CancelKeyPress -= keepWaiting;
        }

        if (!CrashSignals.TryGetValue(worker.ExitCode, out var signal))
        {
            return worker.ExitCode;
        }

        error.WriteLine($"heapdiag: the dump is damaged: the runtime's data access library crashed reading it ({signal}); it is damaged, or from a runtime build it does not support. Take a new dump, or check the copy against the SHA-256 recorded at capture.");
        return ExitCodes.UnusableDump;
    }

    private static ProcessStartInfo StartInfo(string[] args)
    {
        // Run as 'dotnet heapdiag.dll' the host comes first; as an apphost (or a tool's shim) the program itself.
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location ?? typeof(WorkerProcess).Assembly.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[WorkerVariable] = "1";
        return start;
    }

    private static void CopyLines(StreamReader from, TextWriter to)
    {
        while (from.ReadLine() is { } line)
        {
            to.WriteLine(line);
        }
    }
}
