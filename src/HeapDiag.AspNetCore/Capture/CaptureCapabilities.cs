using System.Globalization;
using System.Runtime.InteropServices;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>One reason a dump cannot be taken here, with what to do about it.</summary>
internal sealed record CapabilityProblem(HeapDumpFailure Code, string Message, string Fix);

/// <summary>
/// The answer of <c>GET /heapdump/capabilities</c>. <see cref="Egress"/> says whether finished dumps can be shipped
/// (checked live); a problem there does not stop captures, whose dumps then stay local.
/// </summary>
internal sealed record HeapDumpCapabilities(
    bool CanCapture,
    IReadOnlyList<CapabilityProblem> Problems,
    string Directory,
    long? FreeBytes,
    long ExpectedDumpBytes,
    long ReserveBytes,
    string WriterPath,
    int? PtraceScope,
    int? SeccompMode,
    HeapDumpEgressState? Egress = null,
    AnalysisCapability? Analysis = null);

/// <summary>
/// Whether dumps can be analysed here, and within what: <see cref="Problem"/> and <see cref="Fix"/> when the analyzer
/// cannot be started; the memory budget it would get now (<see cref="BudgetBytes"/>, explained).
/// </summary>
internal sealed record AnalysisCapability(
    string Mode, bool CanAnalyze, string? Problem, string? Fix, string? Host, long BudgetBytes, string Budget, double TimeoutSeconds);

/// <summary>
/// Tells, before trying, whether this process can write a dump, and — after the runtime answers with nothing
/// better than "HRESULT 0x80004005" — which of the known causes is at work.
/// </summary>
internal sealed class CaptureCapabilities(HeapDumpStore store, IOptions<HeapDumpStorageOptions> reserveBytes)
{
    private const int CapSysPtraceBit = 19;

    public string WriterPath { get; } = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "createdump");

    /// <summary>What a dump of the given type will need on disk: heap and full dumps are about the size of the RSS.</summary>
    public static long ExpectedBytes(string type) => HeapDumpTypes.HoldsHeap(type) ? Environment.WorkingSet : 0;

    public HeapDumpCapabilities Probe(string type)
    {
        var problems = new List<CapabilityProblem>();
        problems.AddRange(ProcessProblems());

        if (StorageProblem(type) is { } storage)
        {
            problems.Add(storage);
        }

        var (free, expected, reserve) = (store.FreeBytes(), ExpectedBytes(type), reserveBytes.Value.ReserveBytes);
        return new HeapDumpCapabilities(problems.Count == 0, problems, store.DirectoryPath, free, expected, reserve, WriterPath, ReadPtraceScope(), ReadSeccompMode());
    }

    /// <summary>Problems of the process itself (not of the directory or disk), cheap enough to check before every capture.</summary>
    public IEnumerable<CapabilityProblem> ProcessProblems()
    {
        foreach (var variable in new[] { "DOTNET_EnableDiagnostics", "COMPlus_EnableDiagnostics", "DOTNET_EnableDiagnostics_IPC" })
        {
            if (Environment.GetEnvironmentVariable(variable) == "0")
            {
                yield return new CapabilityProblem(HeapDumpFailure.DiagnosticsDisabled,
                    $"{variable}=0 turns off the runtime's diagnostic channel, which writes dumps.",
                    $"Remove {variable}=0 from the process environment (or set it to 1) and restart.");
                yield break;
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            if (!File.Exists(WriterPath))
            {
                yield return new CapabilityProblem(HeapDumpFailure.WriterMissing,
                    $"The runtime's dump writer '{WriterPath}' is missing.",
                    "Use a runtime image that ships createdump (the official aspnet images do); trimmed or distroless images may drop it.");
            }
            else if ((File.GetUnixFileMode(WriterPath) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            {
                yield return new CapabilityProblem(HeapDumpFailure.WriterMissing,
                    $"The runtime's dump writer '{WriterPath}' is not executable.",
                    $"chmod +x {WriterPath} in the image.");
            }
        }

        var scope = ReadPtraceScope();
        if (scope == 3)
        {
            yield return new CapabilityProblem(HeapDumpFailure.PtraceDenied,
                "kernel.yama.ptrace_scope is 3: no process may attach to another, so the dump writer cannot read this process.",
                "Set kernel.yama.ptrace_scope to 0 or 1 on the host (it cannot be lowered again without a reboot once at 3).");
        }
        else if (scope == 2 && !HasCapSysPtrace())
        {
            yield return new CapabilityProblem(HeapDumpFailure.PtraceDenied,
                "kernel.yama.ptrace_scope is 2 and the process lacks CAP_SYS_PTRACE, so the dump writer cannot attach.",
                "Grant SYS_PTRACE (docker: cap_add: [SYS_PTRACE]; Kubernetes: securityContext.capabilities.add: [SYS_PTRACE]) or lower ptrace_scope to 1.");
        }
    }

    /// <summary>Whether the directory can take a dump of this type now, keeping <c>Storage:ReserveBytes</c> free; null when it can.</summary>
    public CapabilityProblem? StorageProblem(string type) => store.CheckRoom(ExpectedBytes(type), "a dump") switch
    {
        null => null,
        { Writable: false } shortfall => new CapabilityProblem(HeapDumpFailure.DirectoryNotWritable, shortfall.Message,
            "Point HeapDiagnostics:Storage:Directory at a writable directory (in a container: a mounted volume owned by the app's user)."),
        var shortfall => new CapabilityProblem(HeapDumpFailure.InsufficientStorage, shortfall.Message,
            "Free disk space, delete old dumps (DELETE /heapdump/{id}), lower Storage:MaxDumps, or point Storage:Directory at a larger volume."),
    };

    /// <summary>
    /// Picks the most likely cause for a writer failure the runtime reported only as an HRESULT. The raw message is
    /// kept beside it by the caller.
    /// </summary>
    public CapabilityProblem Explain(Exception writerError)
    {
        if (ProcessProblems().FirstOrDefault() is { } known)
        {
            return known;
        }

        // createdump's own words travel back in the exception message; the ones that name a cause are used.
        var message = writerError.Message;
        if (message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase))
        {
            return new CapabilityProblem(HeapDumpFailure.InsufficientStorage,
                $"The disk under '{store.DirectoryPath}' filled up while the dump was written.",
                "Free disk space, lower Storage:MaxDumps, raise Storage:ReserveBytes, or point Storage:Directory at a larger volume.");
        }

        if (message.Contains("ptrace", StringComparison.OrdinalIgnoreCase) && message.Contains("not permitted", StringComparison.OrdinalIgnoreCase))
        {
            return new CapabilityProblem(HeapDumpFailure.PtraceDenied,
                "The dump writer was not permitted to attach to this process (ptrace).",
                "Grant SYS_PTRACE (docker: cap_add: [SYS_PTRACE]), use a seccomp profile that allows ptrace, or lower kernel.yama.ptrace_scope.");
        }

        if (message.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
        {
            return new CapabilityProblem(HeapDumpFailure.DirectoryNotWritable,
                $"The dump writer could not write to '{store.DirectoryPath}'.",
                "Make HeapDiagnostics:Storage:Directory writable by the app's user.");
        }

        if (writerError is Microsoft.Diagnostics.NETCore.Client.ServerNotAvailableException)
        {
            return new CapabilityProblem(HeapDumpFailure.DiagnosticsDisabled,
                "The runtime's diagnostic channel of this process is not reachable.",
                "Check that DOTNET_EnableDiagnostics is not 0 and that TMPDIR is the same for the app and its diagnostic socket.");
        }

        var seccomp = ReadSeccompMode() == 2 ? " A seccomp filter is active (Seccomp: 2 in /proc/self/status); it may block ptrace." : string.Empty;
        return new CapabilityProblem(HeapDumpFailure.WriterFailed,
            $"The runtime's dump writer failed.{seccomp}",
            "In a container, grant SYS_PTRACE and use a seccomp profile that allows ptrace; check the app's stderr for createdump's own messages, and GET /heapdump/capabilities.");
    }

    private static int? ReadPtraceScope() => ReadInt("/proc/sys/kernel/yama/ptrace_scope");

    private static int? ReadSeccompMode() => ReadStatusField("Seccomp:") is { } text && int.TryParse(text, CultureInfo.InvariantCulture, out var mode) ? mode : null;

    private static bool HasCapSysPtrace() =>
        ReadStatusField("CapEff:") is { } hex && ulong.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps) && (caps & (1UL << CapSysPtraceBit)) != 0;

    private static int? ReadInt(string path)
    {
        try
        {
            return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ReadStatusField(string field)
    {
        try
        {
            return OperatingSystem.IsLinux()
                ? File.ReadLines("/proc/self/status").FirstOrDefault(line => line.StartsWith(field, StringComparison.Ordinal))?[field.Length..].Trim()
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
