namespace HeapDiag.AspNetCore.Capture;

/// <summary>Writes a dump of this process to a file. A seam so that writer failures can be simulated.</summary>
internal interface IHeapDumpWriter
{
    Task WriteAsync(string type, string path, CancellationToken cancellationToken);
}
