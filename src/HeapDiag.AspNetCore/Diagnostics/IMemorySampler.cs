namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>Reads memory for the monitor and the health check. A seam so tests can script memory.</summary>
internal interface IMemorySampler
{
    MemorySample Sample();
}
