namespace HeapDiag.AspNetCore;

/// <summary>
/// Shows that AddHeapDiagnostics() ran, and remembers whether the endpoints have been mapped, so that
/// they are mapped exactly once whether the app maps them itself or leaves it to the startup filter.
/// </summary>
internal sealed class HeapDiagnosticsMarker
{
    private int _mapped;

    public bool IsMapped => Volatile.Read(ref _mapped) == 1;

    public void MarkMapped()
    {
        if (Interlocked.Exchange(ref _mapped, 1) == 1)
        {
            throw new InvalidOperationException("The HeapDiag endpoints are already mapped. Call MapHeapDiagnostics() at most once; without it, AddHeapDiagnostics() maps them by itself.");
        }
    }
}
