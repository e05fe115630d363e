namespace HeapDiag.AspNetCore.Capture;

/// <summary>Takes a heap dump; the capture service, or a stand-in in tests of its callers.</summary>
internal interface IHeapDumpCapture
{
    /// <summary>Captures a dump. Never throws for a failed capture: the result names the cause and the fix.</summary>
    Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken);
}
