using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>A capture let in, with its dump's id; or refused, with why and (rate-limited) when to retry.</summary>
internal sealed record Admission(HeapDumpId? Id, CapabilityProblem? Problem, double? RetryAfterSeconds = null);

/// <summary>
/// Whether a capture may start now, checked before anything is written: manual captures at most one per
/// <c>Capture:MinInterval</c>, and a writable directory with room for the dump and <c>Storage:ReserveBytes</c>.
/// Names the dump of a capture it lets in. Called inside the capture gate, one capture at a time, so its state needs no lock.
/// </summary>
internal sealed class CaptureAdmission(CaptureCapabilities capabilities, IOptions<HeapDumpCaptureOptions> options, ProcessInstance instance, TimeProvider time)
{
    private DateTimeOffset? _lastManualStart;

    public Admission Admit(HeapDumpRequest request)
    {
        var now = time.GetUtcNow();
        var manual = request.Trigger == DiagnosticsTriggers.Manual;
        var minInterval = options.Value.MinInterval;
        if (manual && _lastManualStart is { } last && now - last < minInterval)
        {
            var retryAfter = Math.Ceiling((minInterval - (now - last)).TotalSeconds);
            return new Admission(null, new CapabilityProblem(HeapDumpFailure.RateLimited,
                $"The last manual capture started at {last:O}; Capture:MinInterval is {minInterval}.",
                $"Retry after {retryAfter} seconds."), retryAfter);
        }

        if (capabilities.StorageProblem(request.Type) is { } problem)
        {
            return new Admission(null, problem);
        }

        _lastManualStart = manual ? now : _lastManualStart;
        return new Admission(new HeapDumpId(now, instance.ProcessId, request.Trigger, request.DumpNumber, request.Type), null);
    }
}
