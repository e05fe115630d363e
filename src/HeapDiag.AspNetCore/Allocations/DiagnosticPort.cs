namespace HeapDiag.AspNetCore.Allocations;

/// <summary>
/// Whether the analyzer can open an EventPipe session on this process: the runtime's diagnostic channel is on, and
/// its port — a socket named <c>dotnet-diagnostic-{pid}-…-socket</c> in the temp directory — is there. Checked before
/// anything starts, so the answer names the cause instead of a connection error.
/// </summary>
internal static class DiagnosticPort
{
    private static readonly string[] Switches = ["DOTNET_EnableDiagnostics", "COMPlus_EnableDiagnostics", "DOTNET_EnableDiagnostics_IPC"];

    /// <summary>Why no session can be opened on this process, or null when one can.</summary>
    public static SamplingProblem? Check()
    {
        foreach (var variable in Switches)
        {
            if (Environment.GetEnvironmentVariable(variable) == "0")
            {
                return new SamplingProblem(SamplingFailure.DiagnosticsDisabled,
                    $"{variable}=0 turns off the runtime's diagnostic port in this process, and allocations are sampled through it (an EventPipe session).",
                    $"Remove {variable}=0 from the process environment (or set it to 1) and restart the app; nothing was started.");
            }
        }

        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var directory = Path.GetTempPath();
        var pattern = $"dotnet-diagnostic-{Environment.ProcessId}-*-socket";
        return Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory, pattern).Any() ? null
            : new SamplingProblem(SamplingFailure.NoDiagnosticPort,
                $"The runtime's diagnostic port of this process ({Path.Combine(directory, pattern)}) is not there: it was deleted (a temp cleaner), TMPDIR changed, or DOTNET_DiagnosticPorts moved it.",
                "Restart the app with the temp directory kept (do not clean it while the app runs) and without DOTNET_DiagnosticPorts; nothing was started.");
    }
}
