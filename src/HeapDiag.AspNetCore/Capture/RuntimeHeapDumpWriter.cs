using Microsoft.Diagnostics.NETCore.Client;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>
/// Asks the runtime, over its diagnostic IPC channel, to write a dump of this very process. The runtime starts its
/// own out-of-process writer (createdump), which reads the process's memory from outside: no snapshot is built
/// in the app's memory, which is what kills a process that is already near its limit.
/// </summary>
internal sealed class RuntimeHeapDumpWriter : IHeapDumpWriter
{
    public Task WriteAsync(string type, string path, CancellationToken cancellationToken) =>
        new DiagnosticsClient(Environment.ProcessId).WriteDumpAsync(HeapDumpTypes.ToRuntimeType(type), path, WriteDumpFlags.None, cancellationToken);
}
