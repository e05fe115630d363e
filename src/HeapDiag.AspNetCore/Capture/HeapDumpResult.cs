using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>Why a capture did not produce a dump.</summary>
internal enum HeapDumpFailure
{
    /// <summary>Another capture is running (409).</summary>
    Busy,

    /// <summary>Inside <c>Capture:MinInterval</c> of the last manual capture (429).</summary>
    RateLimited,

    /// <summary>Free disk space below the expected size plus <c>Storage:ReserveBytes</c> (507).</summary>
    InsufficientStorage,

    /// <summary>The dump directory cannot be created or written (503).</summary>
    DirectoryNotWritable,

    /// <summary>The runtime's diagnostic channel is off: DOTNET_EnableDiagnostics=0 (503).</summary>
    DiagnosticsDisabled,

    /// <summary>The dump writer may not attach to this process: ptrace_scope, seccomp, SYS_PTRACE (503).</summary>
    PtraceDenied,

    /// <summary>createdump is missing or not executable (503).</summary>
    WriterMissing,

    /// <summary>The writer failed for a reason that could not be told apart (500).</summary>
    WriterFailed,
}

/// <summary>What a capture asks for.</summary>
internal sealed record HeapDumpRequest(string Trigger, int DumpNumber, string Type);

/// <summary>
/// The outcome of one capture. On failure <see cref="Error"/> says
/// what happened and <see cref="Fix"/> what to do; <see cref="RawError"/> keeps the runtime's own words.
/// <see cref="Egress"/> says where a successful dump went (null when no dump was written); when it was deleted
/// locally after its upload, <see cref="HeapPath"/> and <see cref="DiagPath"/> are null. <see cref="Sha256"/> is the
/// dump's digest; <see cref="DigestMs"/> the part of <see cref="DurationMs"/> spent reading the finished dump once to
/// compute it (and, for the bucket, to compress it).
/// </summary>
internal sealed record HeapDumpResult(
    bool Success,
    string? Id,
    string? HeapPath,
    string? DiagPath,
    long SizeBytes,
    double DurationMs,
    string Type,
    string Trigger,
    int DumpNumber,
    string? Error = null,
    HeapDumpFailure? Failure = null,
    string? Fix = null,
    string? RawError = null,
    double? RetryAfterSeconds = null,
    HeapDumpEgressResult? Egress = null,
    string? Sha256 = null,
    double? DigestMs = null);
